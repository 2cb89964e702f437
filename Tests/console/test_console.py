"""The admin console in a real browser (headless Chromium): sign-in, teams, a key generated in
the UI and used through the proxy, the dashboard seeing it, blocking it, a workflow run followed
step by step, and a screenshot of every page."""
import json
import os
import pathlib
import time
import urllib.parse
import uuid

import pytest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import CONSOLE_URL, MASTER_KEY, Console, chat, chat_until_refused, http, new_driver

PAGES = [
    ("dashboard", "Dashboard"), ("models", "Models"), ("keys", "API Keys"), ("teams", "Teams"), ("users", "Users"),
    ("budgets", "Budgets"), ("guardrails", "Guardrails"), ("routing", "Routing Policies"),
    ("mcp", "MCP Servers"), ("workflows", "Workflows"), ("executions", "Executions"),
    ("cluster", "Cluster"), ("settings", "Settings"), ("spend", "Spend Logs"),
]
SUFFIX = uuid.uuid4().hex[:8]
MOCK_MCP_URL = os.environ.get("SCUTUM_MOCK_MCP_URL")
GATEWAY_CONFIG_PATH = os.environ.get("GATEWAY_CONFIG_PATH")


def create(console, opener, **fields):
    """Opens a create dialog with the button `opener`, fills `fields` in order and saves."""
    console.click(opener)
    for name, value in fields.items():
        console.fill(name, value)
    console.submit_dialog()
    console.dialog_closed()


def stat(console, name):
    text = console.find(f'[data-stat="{name}"]').text
    return int(text.replace(",", ""))


def test_wrong_key_shows_the_api_error(screenshots):
    driver = new_driver()
    try:
        page = Console(driver)
        page.login("sk-not-a-real-key-" + SUFFIX)
        error = page.find("#login-error")
        page.wait(lambda d: error.text.strip() != "", 10, "the login error")
        # The Admin API's own detail text, not a generic message.
        status, body = http("POST", CONSOLE_URL + "/auth/login", {"api_key": "sk-not-a-real-key-" + SUFFIX})
        assert status == 401 and error.text == body["detail"], (error.text, body)
        assert driver.find_element(By.ID, "app-view").get_attribute("hidden") is not None
        page.screenshot(screenshots, "00-login-error")
        assert driver.execute_script("return localStorage.length") == 0
    finally:
        driver.quit()


def test_login_with_the_master_key_opens_the_dashboard(console, screenshots):
    console.find('[data-stat="rpm"]')
    console.wait(lambda d: "master" in d.find_element(By.ID, "whoami").text, 10, "who is signed in")
    stored = console.driver.execute_script("return JSON.parse(localStorage.getItem('scutum.console.session'))")
    lifetime_hours = (stored["expiresAt"] / 1000 - time.time()) / 3600
    assert 7.9 < lifetime_hours <= 8.0, lifetime_hours


def test_create_a_team(console):
    name = f"console-team-{SUFFIX}"
    console.go("teams", "Teams")
    create(console, "#create-team", team_alias=name, max_budget="25")
    row = console.row(name)
    assert "$25" in row.text
    _, teams = http("GET", CONSOLE_URL + "/api/v1/teams", token=token(console))
    assert any(team["team_alias"] == name for team in teams["teams"])


def test_validation_errors_show_the_detail(console):
    console.go("teams", "Teams")
    console.click("#create-team")
    console.fill("team_alias", f"console-bad-{SUFFIX}")
    console.fill("budget_duration", "forever")
    console.submit_dialog()
    error = console.find("dialog[open] .form-error")
    # The API's 422 detail, with the field it names.
    assert error.text.startswith("budget_duration: "), error.text
    console.press(console.button("Cancel", console.dialog()))
    console.dialog_closed()


def token(console):
    return console.driver.execute_script("return JSON.parse(localStorage.getItem('scutum.console.session')).token")


def test_generated_key_works_shows_on_the_dashboard_and_can_be_blocked(console, screenshots):
    alias = f"console-key-{SUFFIX}"
    console.go("dashboard", "Dashboard")
    before = stat(console, "requests-today")

    console.go("keys", "API Keys")
    console.click("#generate-key")
    console.fill("key_alias", alias)
    console.fill("team_id", next(option.get_attribute("value") for option in console.dialog().find_elements(
        By.CSS_SELECTOR, "select[name=team_id] option") if option.text == f"console-team-{SUFFIX}"))
    console.submit_dialog()
    secret = console.find("dialog[open] output#secret-value").text.strip()
    assert secret.startswith("sk-"), secret
    console.screenshot(screenshots, "03-key-created-once")
    console.press(console.button("Copy", console.dialog()))
    console.wait(lambda d: "Copied" in d.find_element(By.CSS_SELECTOR, "dialog[open] [role=status]").text
                 or "Ctrl+C" in d.find_element(By.CSS_SELECTOR, "dialog[open] [role=status]").text, 5, "copy feedback")
    console.press(console.button("Done", console.dialog()))
    console.dialog_closed()
    row = console.row(alias)
    assert secret not in console.driver.page_source, "the secret must not stay on the page"
    assert "active" in row.text

    status, body = chat(secret)
    assert status == 200, body
    assert body["choices"][0]["message"]["content"]

    console.go("dashboard", "Dashboard")
    console.wait(lambda d: stat(console, "requests-today") > before, 30, "the request on the dashboard")
    console.wait(lambda d: any(r.get_attribute("data-row") == "gpt-5-mini" for r in d.find_elements(By.CSS_SELECTOR, "tbody tr")),
                 15, "gpt-5-mini in usage by model")
    console.screenshot(screenshots, "04-dashboard-after-request")

    console.go("keys", "API Keys")
    console.press(console.button(f"Block key {alias}"))
    dialog = console.dialog()
    assert "Block this key?" in dialog.text
    console.press(console.button("Cancel", dialog))
    console.dialog_closed()
    assert "active" in console.row(alias).text
    assert chat(secret)[0] == 200

    console.press(console.button(f"Block key {alias}"))
    console.submit_dialog()
    console.dialog_closed()
    console.wait(lambda d: "blocked" in console.row(alias).text, 10, "the key shown blocked")
    status, body = chat_until_refused(secret)
    assert status == 401, (status, body)
    console.screenshot(screenshots, "05-key-blocked")


def test_create_and_run_a_workflow_step_by_step(console, screenshots):
    name = f"console-wf-{SUFFIX}"
    # The second step's prompt asks the mock upstream to take 3 s, so the page shows the first step
    # done while the execution still runs.
    graph = {"nodes": [
        {"name": "draft", "type": "llm", "config": {"model": "gpt-5-mini", "prompt": "Three lines about {{input.topic}}"}},
        {"name": "review", "type": "llm", "config": {"model": "gpt-5-mini",
                                                     "prompt": "Improve [mock:latency_ms=3000]: {{steps.draft.output}}"}}],
        "edges": [{"source": "draft", "target": "review"}], "entry_point": "draft", "end_nodes": ["review"]}
    console.go("workflows", "Workflows")
    create(console, "#create-workflow", name=name, graph_definition=json.dumps(graph))
    console.row(name)
    console.press(console.button(f"Run {name}"))
    console.fill("input_data", '{"topic": "otters"}')
    console.submit_dialog()
    console.wait(lambda d: "#/executions/" in d.current_url, 10, "the execution page")

    def first_step_done_while_running(driver):
        steps = {step.get_attribute("data-step"): step.get_attribute("data-status")
                 for step in driver.find_elements(By.CSS_SELECTOR, "#execution-steps li")}
        return steps.get("draft") == "completed" and driver.find_element(By.ID, "execution-status").text == "running"
    console.wait(first_step_done_while_running, 20, "step 1 completed while the execution runs")
    console.screenshot(screenshots, "06-workflow-running")
    console.wait(lambda d: d.find_element(By.ID, "execution-status").text == "completed", 60, "the execution to complete")
    assert "completed: 2 steps completed" in console.find("#execution-progress").text
    steps = console.driver.find_elements(By.CSS_SELECTOR, "#execution-steps li")
    assert [step.get_attribute("data-step") for step in steps] == ["draft", "review"]
    assert all(step.get_attribute("data-status") == "completed" for step in steps)
    assert all("$" in step.text and " in / " in step.text for step in steps)
    cost = console.find("#execution-cost").text
    assert cost.startswith("$") and float(cost[1:].replace(",", "")) > 0, cost
    execution_id = console.driver.current_url.rsplit("/", 1)[1]
    _, execution = http("GET", CONSOLE_URL + f"/api/v1/workflow-executions/{execution_id}", token=token(console))
    assert [step["node_name"] for step in execution["steps"]] == ["draft", "review"]
    console.screenshot(screenshots, "07-workflow-completed")


def test_guardrail_budget_routing_and_settings_forms(console):
    team = f"console-team-{SUFFIX}"
    _, teams = http("GET", CONSOLE_URL + "/api/v1/teams", token=token(console))
    team_id = next(t["team_id"] for t in teams["teams"] if t["team_alias"] == team)

    profile = f"console-pii-{SUFFIX}"
    console.go("guardrails", "Guardrails")
    create(console, "#create-guardrail", name=profile, enable_pii_detection=True, pii_action="mask")
    assert "PII (mask)" in console.row(profile).text
    console.press(console.button(f"Assign {profile} to a team"))
    console.fill("team_id", team_id)
    console.fill("priority", "3")
    console.submit_dialog()
    console.dialog_closed()
    assignment = console.row(f"{profile} {team}")
    assert "3" in assignment.text
    _, assignments = http("GET", CONSOLE_URL + "/api/v1/guardrail-assignments", token=token(console))
    assert any(a["config_name"] == profile and a["team_id"] == team_id and a["priority"] == 3
               for a in assignments["assignments"])

    console.go("budgets", "Budgets")
    create(console, "#create-budget", scope="user", scope_id=f"console-user-{SUFFIX}", max_budget="10",
           soft_budget="8", budget_duration="30d")
    card = console.find(f'[data-budget="user console-user-{SUFFIX}"]')
    assert "of $10" in card.text and "30d" in card.text, card.text

    policy = f"console-group-{SUFFIX}"
    console.go("routing", "Routing Policies")
    console.click("#create-policy")
    console.fill("name", policy)
    console.fill("type", "model_group")
    config = console.find("dialog[open] [name='config']")
    console.wait(lambda d: '"alias"' in config.get_attribute("value"), 5, "the model_group example")
    console.submit_dialog()
    console.dialog_closed()
    assert "model_group" in console.row(policy).text

    console.go("settings", "Settings")
    # The form is the schema: one control per setting, labelled as the gateway names it.
    _, schema = http("GET", CONSOLE_URL + "/api/v1/settings/schema", token=token(console))
    assert {s["name"] for s in schema} >= {"maintenance_mode", "default_model", "enable_routing_policies"}
    for setting in schema:
        field = console.find(f"#setting-{setting['name']}")
        assert field.get_attribute("type") == {"flag": "checkbox", "positive_integer": "number"}.get(setting["kind"], "text"), setting
        label = console.find(f"label[for='setting-{setting['name']}']")
        assert label.text == setting["label"], (label.text, setting)
    maintenance = console.find("#setting-maintenance_mode")
    assert not maintenance.is_selected()
    console.press(maintenance)
    console.press(console.find("#settings-form button[type=submit]"))
    dialog = console.dialog()
    assert "maintenance mode" in dialog.text.lower()
    console.press(console.button("Cancel", dialog))
    console.dialog_closed()
    _, settings = http("GET", CONSOLE_URL + "/api/v1/settings", token=token(console))
    assert not settings.get("maintenance_mode"), settings


@pytest.mark.skipif(not MOCK_MCP_URL or not GATEWAY_CONFIG_PATH,
                    reason="make test provides SCUTUM_MOCK_MCP_URL and GATEWAY_CONFIG_PATH")
def test_mcp_server_test_preview_and_sync(console, screenshots):
    name = f"console-mcp-{SUFFIX}"
    host = urllib.parse.urlsplit(MOCK_MCP_URL).hostname
    # The mock's MCP server is on loopback, which MCP servers may use only when allowed.
    console.go("settings", "Settings")
    allowed = console.find("#setting-mcp_allowed_hosts")
    if host not in allowed.get_attribute("value"):
        allowed.send_keys(f", {host}" if allowed.get_attribute("value") else host)
        console.press(console.find("#settings-form button[type=submit]"))
        console.toast("Settings saved")

    console.go("mcp", "MCP Servers")
    create(console, "#create-mcp", name=name, server_type="http", url=MOCK_MCP_URL)
    console.row(name)
    console.press(console.button(f"Test {name}"))
    console.wait(lambda d: "ok" in console.row(name).text, 20, "a successful connection test")
    row = console.row(name)
    assert row.find_element(By.CSS_SELECTOR, "td[data-label='Tools']").text == "2", row.text  # echo and add

    console.click("#mcp-preview")
    preview = console.find("pre.code")
    assert MOCK_MCP_URL in preview.text and "mcp:" in preview.text, preview.text

    console.click("#mcp-sync")
    console.submit_dialog()
    console.dialog_closed(timeout=30)
    _, servers = http("GET", CONSOLE_URL + "/api/v1/mcp-servers", token=token(console))
    active = sum(1 for server in servers["servers"] if server["is_active"])
    assert f"Synced {active} server(s)" in console.toast("Synced")
    written = pathlib.Path(GATEWAY_CONFIG_PATH).read_text()
    assert MOCK_MCP_URL in written, written
    console.screenshot(screenshots, "08-mcp-synced")


def test_spend_logs_filter_by_team_and_cluster_shows_the_leader(console):
    team = f"console-team-{SUFFIX}"
    _, teams = http("GET", CONSOLE_URL + "/api/v1/teams", token=token(console))
    team_id = next(t["team_id"] for t in teams["teams"] if t["team_alias"] == team)
    console.go("spend", "Spend Logs")

    def filtered_rows(driver):
        field = driver.find_element(By.ID, "filter-team_id")
        field.clear()
        field.send_keys(team_id)
        driver.find_element(By.CSS_SELECTOR, "#spend-filters button[type=submit]").click()
        time.sleep(0.5)
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr[data-row^='req-']")
        return rows if rows else False
    # Spend rows reach PostgreSQL in batches: the key's request (made earlier) shows up within seconds.
    rows = console.wait(filtered_rows, 30, "the team's requests in the spend logs")
    teams_shown = {row.find_element(By.CSS_SELECTOR, "td[data-label='Team']").text for row in rows}
    assert teams_shown == {team_id}, teams_shown
    assert all(row.find_element(By.CSS_SELECTOR, "td[data-label='Key']").text == f"console-key-{SUFFIX}" for row in rows)
    # The key's requests were chat completions: each row names that front door.
    endpoints_shown = {row.find_element(By.CSS_SELECTOR, "td[data-label='Endpoint']").text for row in rows}
    assert endpoints_shown == {"/v1/chat/completions"}, endpoints_shown

    console.go("cluster", "Cluster")
    leader = console.find("#cluster-leader")
    _, cluster = http("GET", CONSOLE_URL + "/api/v1/cluster", token=token(console))
    assert cluster["leader"]["node_id"] in leader.text
    assert console.driver.find_elements(By.XPATH, "//tbody//span[contains(@class,'badge') and text()='leader']")


def test_destructive_actions_ask_first(console):
    name = f"console-doomed-{SUFFIX}"
    console.go("teams", "Teams")
    create(console, "#create-team", team_alias=name)
    console.press(console.button(f"Delete team {name}"))
    dialog = console.dialog()
    assert "Delete this team?" in dialog.text
    dialog.send_keys("\ue00c")  # Escape cancels
    console.dialog_closed()
    console.row(name)
    console.press(console.button(f"Delete team {name}"))
    console.submit_dialog()
    console.dialog_closed()
    console.wait(lambda d: not any(r.get_attribute("data-row") == name for r in d.find_elements(By.CSS_SELECTOR, "tbody tr")),
                 10, "the team gone")


UNLABELLED = """
return [...document.querySelectorAll('#app-view input, #app-view select, #app-view textarea, dialog input, dialog select, dialog textarea')]
    .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))
  .concat([...document.querySelectorAll('#app-view button, #app-view a')]
    .filter((el) => !(el.textContent.trim() || el.getAttribute('aria-label')))
    .map((el) => el.outerHTML.slice(0, 60)));
"""


def test_every_page_loads_and_is_screenshotted(console, screenshots):
    console.driver.get_log("browser")  # drop what earlier tests logged
    for index, (route, heading) in enumerate(PAGES, start=1):
        console.go(route, heading)
        console.wait(lambda d: "Loading…" not in d.find_element(By.ID, "main").text, 10, f"{route} to load")
        time.sleep(0.3)
        errors = console.driver.find_elements(By.CSS_SELECTOR, "#main .load-error")
        assert not errors, f"{route}: {[e.text for e in errors]}"
        assert console.driver.execute_script(UNLABELLED) == [], route
        assert console.driver.find_elements(By.CSS_SELECTOR, "main#main h1#page-title") and \
            console.driver.find_elements(By.CSS_SELECTOR, "nav[aria-label]")
        console.screenshot(screenshots, f"page-{index:02d}-{route}")
    assert console.errors_in_console() == []


def test_an_admin_key_made_in_the_console_signs_in(console):
    alias = f"console-admin-{SUFFIX}"
    console.go("keys", "API Keys")
    console.click("#generate-key")
    console.fill("key_alias", alias)
    console.fill("role", "admin")
    console.submit_dialog()
    secret = console.find("dialog[open] output#secret-value").text.strip()
    console.press(console.button("Done", console.dialog()))
    console.dialog_closed()
    _, keys = http("GET", CONSOLE_URL + "/api/v1/keys", token=token(console))
    key_id = next(k["key_id"] for k in keys["keys"] if k["key_alias"] == alias)

    driver = new_driver()
    try:
        page = Console(driver)
        page.login(secret)
        page.find("#page-title")
        page.wait(lambda d: f"Signed in as {key_id} (admin)" == d.find_element(By.ID, "whoami").text, 10, "the admin key")
    finally:
        driver.quit()


def test_keyboard_only_sign_in_and_navigation():
    driver = new_driver()
    try:
        page = Console(driver)
        page.open("dashboard")
        driver.execute_script("localStorage.clear()")
        driver.refresh()
        page.find("#login-key").send_keys(MASTER_KEY + Keys.ENTER)
        page.wait(lambda d: d.switch_to.active_element.get_attribute("id") == "page-title", 10,
                  "focus on the page heading after signing in")
        # A fresh load: the first Tab reaches the skip link.
        driver.refresh()
        page.find("#page-title")
        ActionChains(driver).send_keys(Keys.TAB).perform()
        skip = driver.switch_to.active_element
        assert skip.text == "Skip to content" and skip.is_displayed()
        # Tab along to the Keys link and follow it with Enter.
        for _ in range(30):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            if driver.switch_to.active_element.get_attribute("data-route") == "keys":
                break
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        page.wait(lambda d: d.find_element(By.ID, "page-title").text == "API Keys"
                  and d.switch_to.active_element.get_attribute("id") == "page-title", 10, "the keys page, focused")
        ActionChains(driver).send_keys(Keys.TAB).perform()
        assert driver.switch_to.active_element.get_attribute("id") == "generate-key"
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        page.dialog()
        assert driver.switch_to.active_element.get_attribute("name") == "key_alias", "the dialog focuses its first field"
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
        page.dialog_closed()
    finally:
        driver.quit()


def test_narrow_window_uses_the_menu_button(screenshots):
    driver = new_driver(420, 860)
    try:
        page = Console(driver)
        page.login(MASTER_KEY)
        page.find("#page-title")
        toggle = page.find("#nav-toggle")
        assert not driver.find_element(By.ID, "nav").is_displayed()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.screenshot(screenshots, "narrow-menu-open")
        page.click('#nav a[data-route="keys"]')
        page.wait(lambda d: d.find_element(By.ID, "page-title").text == "API Keys", 10)
        page.screenshot(screenshots, "narrow-keys")
    finally:
        driver.quit()


def test_expired_or_rejected_session_returns_to_login():
    driver = new_driver()
    try:
        page = Console(driver)
        page.login(MASTER_KEY)
        page.find("#page-title")
        # An expired session: the stored expiry is in the past.
        driver.execute_script("""const s = JSON.parse(localStorage.getItem('scutum.console.session'));
            s.expiresAt = Date.now() - 1000; localStorage.setItem('scutum.console.session', JSON.stringify(s));""")
        driver.refresh()
        page.find("#login-key")
        # Signed in again, then the API starts rejecting the token (401) while the user navigates:
        # back to the login screen with the API's reason.
        field = page.find("#login-key")
        field.send_keys(MASTER_KEY)
        page.click("#login-submit")
        page.find("#page-title")
        driver.execute_script("""const s = JSON.parse(localStorage.getItem('scutum.console.session'));
            s.token = 'not-a-valid-token'; localStorage.setItem('scutum.console.session', JSON.stringify(s));""")
        page.click('#nav a[data-route="keys"]')
        page.find("#login-key")
        page.wait(lambda d: d.find_element(By.ID, "login-error").text.strip() != "", 10, "the reason")
        assert driver.find_element(By.ID, "app-view").get_attribute("hidden") is not None
        assert driver.execute_script("return localStorage.getItem('scutum.console.session')") is None
    finally:
        driver.quit()

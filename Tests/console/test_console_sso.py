"""Single sign-on in the console, through the mock upstream's real OpenID Connect provider: each test
sets a user's groups with the provider's test hook, clicks "Sign in with SSO", submits the
provider's login form and lands back on the console as that user. An SSO admin sees every page and
manages users; a viewer reads without write controls; a team admin sees only their team; a member
makes a key in the console, uses it through the proxy and revokes it; failures show on the sign-in
screen. Every test makes its own teams and users (unique names), so they run in any order."""
import datetime
import os
import time
import urllib.parse
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import CONSOLE_URL, MASTER_KEY, Console, chat, chat_until_refused, http, new_driver

MOCK_URL = os.environ.get("SCUTUM_MOCK_UPSTREAM_URL", "http://127.0.0.1:29100").rstrip("/")
# The e-mail domains the gateway lets sign in (SCUTUM_OIDC_ALLOWED_DOMAINS); empty allows any.
ALLOWED_DOMAINS = [d.strip() for d in os.environ.get("SCUTUM_OIDC_ALLOWED_DOMAINS", "").split(",") if d.strip()]
DOMAIN = ALLOWED_DOMAINS[0] if ALLOWED_DOMAINS else "example.com"
STAFF_ROUTES = ["dashboard", "models", "keys", "teams", "users", "budgets", "guardrails", "routing", "mcp",
                "workflows", "executions", "cluster", "settings", "spend"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def master():
    """An access token for the master key, to set up teams and keys through the Admin API."""
    status, body = http("POST", CONSOLE_URL + "/auth/login", {"api_key": MASTER_KEY})
    assert status == 200, body
    return body["access_token"]


def admin_api(method, path, token, body=None):
    status, answer = http(method, f"{CONSOLE_URL}/api/v1{path}", body, token=token)
    assert status < 300, (method, path, status, answer)
    return answer


def make_team(token, alias, **fields):
    return admin_api("POST", "/teams", token, {"team_alias": alias, **fields})["team_id"]


@pytest.fixture()
def page():
    driver = new_driver()
    yield Console(driver)
    driver.quit()


def set_groups(email, groups):
    status, body = http("POST", MOCK_URL + "/oidc/__mock/groups", {"email": email, "groups": groups})
    assert status == 200, body


def sign_in_with_sso(page, email):
    """From a signed-out console: "Sign in with SSO", the provider's form, and back."""
    page.open("")
    page.driver.execute_script("localStorage.clear()")
    page.driver.refresh()
    page.click("#sso-button")
    field = page.find("input[name=email]")
    assert urllib.parse.urlsplit(page.driver.current_url).netloc == urllib.parse.urlsplit(MOCK_URL).netloc, \
        "the provider's login form"
    field.send_keys(email)
    page.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def signed_in_as(page, email):
    """Waits until the console shows `email` signed in; returns the /auth/me of its session."""
    page.find("#page-title")
    page.wait(lambda d: email in d.find_element(By.ID, "whoami").text, 15, f"{email} signed in")
    # The fragment that carried the token is gone from the address bar.
    assert "sso_token" not in page.driver.current_url, page.driver.current_url
    status, me = http("GET", CONSOLE_URL + "/auth/me", token=session_token(page))
    assert status == 200, me
    return me


def session_token(page):
    return page.driver.execute_script("return JSON.parse(localStorage.getItem('scutum.console.session')).token")


def nav_routes(page):
    return [link.get_attribute("data-route") for link in page.driver.find_elements(By.CSS_SELECTOR, "#nav a")]


def row_labels(page):
    return {row.get_attribute("data-row") for row in page.driver.find_elements(By.CSS_SELECTOR, "tbody tr")}


def loaded(page):
    page.wait(lambda d: "Loading…" not in d.find_element(By.ID, "main").text, 10, "the page to load")


def test_sso_admin_sees_every_page_and_manages_users(page, screenshots):
    email = f"{unique('sso-admin')}@{DOMAIN}"
    set_groups(email, ["scutum-admins"])
    page.open("")
    page.driver.execute_script("localStorage.clear()")
    page.driver.refresh()
    assert page.find("#sso-button").text == "Sign in with SSO"
    page.screenshot(screenshots, "sso-01-sign-in")
    sign_in_with_sso(page, email)
    me = signed_in_as(page, email)
    assert me["access"] == "admin" and me["user"]["email"] == email and me["teams"] == [], me
    assert page.find("#whoami").text == f"Signed in as {email} (admin)"
    assert nav_routes(page) == STAFF_ROUTES
    # The session is stored as a key sign-in stores it, with the expiry the gateway gave.
    stored = page.driver.execute_script("return JSON.parse(localStorage.getItem('scutum.console.session'))")
    expires = datetime.datetime.fromisoformat(me["expires_at"].replace("Z", "+00:00")).timestamp()
    assert stored["expiresAt"] / 1000 == pytest.approx(expires, abs=1)

    # The SSO admin writes too: a team, then users invited into it from the Users page.
    team = unique("sso-users-team")
    team_id = make_team(session_token(page), team)
    page.go("users", "Users")
    mine = page.row(email)
    assert "SSO" in mine.text and "admin" in mine.text, mine.text
    page.screenshot(screenshots, "sso-02-admin-users")

    # Invite a viewer with a team membership, make them an admin, then remove them.
    invited = f"{unique('invited')}@{DOMAIN}"
    page.click("#invite-user")
    page.fill("email", invited)
    page.fill("name", "Invited Person")
    page.fill("role", "viewer")
    page.fill(f"team:{team_id}", "team_admin")
    page.submit_dialog()
    page.dialog_closed()
    row = page.row(invited)
    assert "invited" in row.text and "viewer" in row.text and team in row.text, row.text
    users = admin_api("GET", "/users", session_token(page))["users"]
    user = next(u for u in users if u["email"] == invited)
    assert user["role"] == "viewer" and user["source"] == "invited" and user["name"] == "Invited Person"
    assert user["teams"] == [{"team_id": team_id, "team_alias": team, "role": "team_admin"}], user["teams"]

    page.press(page.button(f"Edit {invited}"))
    page.fill("role", "admin")
    page.fill("status", "disabled")
    page.fill(f"team:{team_id}", "")
    page.submit_dialog()
    page.dialog_closed()
    page.wait(lambda d: "disabled" in page.row(invited).text, 10, "the user shown disabled")
    user = admin_api("GET", f"/users/{user['user_id']}", session_token(page))
    assert user["role"] == "admin" and user["status"] == "disabled" and user["teams"] == [], user

    page.press(page.button(f"Remove {invited}"))
    assert "Remove this user?" in page.dialog().text
    page.submit_dialog()
    page.dialog_closed()
    page.wait(lambda d: invited not in row_labels(page), 10, "the user gone")
    assert http("GET", f"{CONSOLE_URL}/api/v1/users/{user['user_id']}", token=session_token(page))[0] == 404


def test_sso_viewer_reads_every_page_without_write_controls(page, master, screenshots):
    team, key = unique("sso-viewer-team"), unique("sso-viewer-key")
    team_id = make_team(master, team)
    admin_api("POST", "/keys/generate", master, {"key_alias": key, "team_id": team_id})
    email = f"{unique('sso-viewer')}@{DOMAIN}"
    set_groups(email, ["scutum-viewers"])
    sign_in_with_sso(page, email)
    me = signed_in_as(page, email)
    assert me["access"] == "viewer", me
    assert page.find("#whoami").text == f"Signed in as {email} (viewer)"
    assert nav_routes(page) == STAFF_ROUTES
    # Pages with a row the viewer could have changed (others may be empty on a fresh gateway).
    for route, heading, create, row in [("keys", "API Keys", "generate-key", key), ("teams", "Teams", "create-team", team),
                                        ("users", "Users", "invite-user", email), ("budgets", "Budgets", "create-budget", None),
                                        ("routing", "Routing Policies", "create-policy", None),
                                        ("workflows", "Workflows", "create-workflow", None)]:
        page.go(route, heading)
        loaded(page)
        if row:
            page.row(row)
        assert not page.driver.find_elements(By.ID, create), route
        assert not page.driver.find_elements(By.CSS_SELECTOR, "#main .load-error"), route
        # No row offers a change (a workflow's row still links to its executions).
        assert not page.driver.find_elements(By.CSS_SELECTOR, "td.actions button"), route
    page.go("settings", "Settings")
    loaded(page)
    assert not page.find("#setting-maintenance_mode").is_enabled()
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#settings-form button[type=submit]")
    page.screenshot(screenshots, "sso-03-viewer-settings")
    assert page.errors_in_console() == []


def test_sso_team_admin_sees_only_their_team(page, master, screenshots):
    team_a, team_b = unique("sso-team-a"), unique("sso-team-b")
    a_id = make_team(master, team_a, models=["gpt-5-mini"])
    b_id = make_team(master, team_b)
    key_a, key_b = unique("sso-key-a"), unique("sso-key-b")
    admin_api("POST", "/keys/generate", master, {"key_alias": key_a, "team_id": a_id})
    admin_api("POST", "/keys/generate", master, {"key_alias": key_b, "team_id": b_id})
    email = f"{unique('sso-team-admin')}@{DOMAIN}"
    set_groups(email, [f"scutum-team:{a_id}:team_admin"])

    sign_in_with_sso(page, email)
    me = signed_in_as(page, email)
    assert me["access"] == "team" and me["teams"] == [{"team_id": a_id, "team_alias": team_a, "role": "team_admin"}], me
    assert page.find("#whoami").text == f"Signed in as {email} (team_admin of {team_a})"
    assert nav_routes(page) == ["keys", "teams", "budgets", "guardrails", "spend"]

    page.go("teams", "Teams")
    page.row(team_a)
    assert row_labels(page) == {team_a}
    assert not page.driver.find_elements(By.ID, "create-team")
    # The team admin manages the team's members: one added by e-mail (invited), then removed.
    newcomer = f"{unique('newcomer')}@{DOMAIN}"
    page.press(page.button(f"Add a member to {team_a}"))
    page.fill("user", newcomer)
    page.fill("role", "member")
    page.submit_dialog()
    page.dialog_closed()
    page.wait(lambda d: newcomer in page.row(team_a).text, 10, "the new member listed by e-mail")
    team = admin_api("GET", f"/teams/{a_id}", master)
    assert {m["role"] for m in team["members"] if m["user_id"] != me["user"]["user_id"]} == {"member"}, team["members"]
    page.screenshot(screenshots, "sso-04-team-admin-teams")
    page.press(page.button(f"Remove {newcomer} from {team_a}"))
    page.submit_dialog()
    page.dialog_closed()
    page.wait(lambda d: newcomer not in page.row(team_a).text, 10, "the member removed")

    page.go("keys", "API Keys")
    page.row(key_a)
    labels = row_labels(page)
    assert key_a in labels and key_b not in labels, labels
    page.screenshot(screenshots, "sso-05-team-admin-keys")

    # The team admin's other pages load with what the API lets them see.
    for route, heading in [("budgets", "Budgets"), ("guardrails", "Guardrails"), ("spend", "Spend Logs")]:
        page.go(route, heading)
        loaded(page)
        assert not page.driver.find_elements(By.CSS_SELECTOR, "#main .load-error"), route
        if route == "guardrails":
            # Profiles are global: a team admin gets the events of their teams only.
            assert [s.text for s in page.driver.find_elements(By.CSS_SELECTOR, "#main section h2")] == ["Recent events"]

    # A page outside the team's access, opened by its address: said plainly, no crash.
    page.open("settings")
    page.wait(lambda d: d.find_element(By.ID, "page-title").text == "No access", 10, "the no-access page")
    assert "You don't have access to this page" in page.find("#main .no-access").text
    # Another team's resources do not exist for this caller.
    assert http("GET", f"{CONSOLE_URL}/api/v1/teams/{b_id}", token=session_token(page))[0] == 404
    assert page.errors_in_console() == []


def test_sso_member_makes_uses_and_revokes_a_key(page, master, screenshots):
    team, other = unique("sso-member-team"), unique("sso-member-other")
    team_id = make_team(master, team, models=["gpt-5-mini", "gpt-5"], key_max_budget=5, key_rpm_limit=100,
                        key_tpm_limit=100000)
    other_id = make_team(master, other, key_max_budget=1)
    email = f"{unique('sso-member')}@{DOMAIN}"
    set_groups(email, [f"scutum-team:{team_id}:member", f"scutum-team:{other_id}:member"])
    sign_in_with_sso(page, email)
    me = signed_in_as(page, email)
    assert me["access"] == "team" and {t["role"] for t in me["teams"]} == {"member"}, me
    assert nav_routes(page) == ["keys", "teams", "spend"]

    page.go("keys", "API Keys")
    loaded(page)
    assert not page.driver.find_elements(By.ID, "generate-key")
    page.click("#create-key")
    dialog = page.dialog()
    team_select = Select(dialog.find_element(By.NAME, "team_id"))
    assert sorted(o.get_attribute("value") for o in team_select.options) == sorted([team_id, other_id])
    models = dialog.find_element(By.NAME, "models")

    def shows(team_models, budget_cap, rpm_cap, tpm_cap):
        """The form shows a team's models and caps (None: the team sets none)."""
        assert [o.get_attribute("value") for o in Select(models).options] == team_models
        assert models.is_enabled() == bool(team_models)
        for field, cap in [("max_budget", budget_cap), ("rpm_limit", rpm_cap), ("tpm_limit", tpm_cap)]:
            hint = dialog.find_element(By.ID, f"field-{field}-help").text
            assert (f"At most {cap}," in hint) if cap else ("no cap" in hint), (field, hint)
    # Picking a team shows its models (none listed: every model) and its caps as hints.
    page.fill("team_id", other_id)
    shows([], "$1", None, None)
    page.fill("team_id", team_id)
    shows(["gpt-5-mini", "gpt-5"], "$5", "100", "100,000")
    page.screenshot(screenshots, "sso-06-member-create-key")

    alias = unique("sso-own-key")
    page.fill("key_alias", alias)
    page.fill("models", "gpt-5-mini")
    page.fill("max_budget", "50")
    page.submit_dialog()
    # Over the team's cap: the API's 403 detail, in the dialog.
    error = page.find("dialog[open] .form-error")
    assert "cap" in error.text, error.text
    page.fill("max_budget", "2")
    page.submit_dialog()
    secret = page.find("dialog[open] output#secret-value").text.strip()
    assert secret.startswith("sk-"), secret
    page.screenshot(screenshots, "sso-07-member-key-once")
    page.press(page.button("Copy", page.dialog()))
    page.press(page.button("Done", page.dialog()))
    page.dialog_closed()
    row = page.row(alias)
    assert "you" in row.find_element(By.CSS_SELECTOR, "td[data-label='Owner']").text
    assert secret not in page.driver.page_source
    key = next(k for k in admin_api("GET", "/keys", master)["keys"] if k["key_alias"] == alias)
    assert key["user_id"] == me["user"]["user_id"] and key["team_id"] == team_id and key["models"] == ["gpt-5-mini"], key
    assert key["max_budget"] == 2 and key["rpm_limit"] == 100, key

    status, body = chat(secret)
    assert status == 200, body

    # The member's own spend: the request shows in Spend Logs (rows reach PostgreSQL in batches).
    page.go("spend", "Spend Logs")

    def own_request(driver):
        driver.find_element(By.CSS_SELECTOR, "#spend-filters button[type=submit]").click()
        time.sleep(0.5)
        return [r for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr[data-row^='req-']")
                if r.find_element(By.CSS_SELECTOR, "td[data-label='Key']").text == alias]
    page.wait(own_request, 30, "the member's request in the spend logs")
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#main .load-error")
    page.go("keys", "API Keys")

    page.press(page.button(f"Revoke key {alias}"))
    assert "Revoke this key?" in page.dialog().text
    page.press(page.button("Cancel", page.dialog()))
    page.dialog_closed()
    assert chat(secret)[0] == 200
    page.press(page.button(f"Revoke key {alias}"))
    page.submit_dialog()
    page.dialog_closed()
    page.wait(lambda d: alias not in row_labels(page), 10, "the key gone from the list")
    status, body = chat_until_refused(secret)
    assert status == 401, (status, body)
    page.screenshot(screenshots, "sso-08-member-key-revoked")


def test_a_tampered_callback_shows_the_error_on_the_sign_in_screen(page, screenshots):
    page.open("")
    page.driver.execute_script("localStorage.clear()")
    page.driver.get(CONSOLE_URL + "/auth/sso/callback?code=x&state=y")
    error = page.find("#login-error")
    page.wait(lambda d: error.text.strip() != "", 10, "the SSO error")
    assert page.find("#sso-button").is_displayed()
    assert page.driver.find_element(By.ID, "app-view").get_attribute("hidden") is not None
    assert "sso_error" not in page.driver.current_url, page.driver.current_url
    assert page.driver.execute_script("return localStorage.getItem('scutum.console.session')") is None
    page.screenshot(screenshots, "sso-09-callback-error")

    # Signed in with a key, a failed sign-on keeps that session and says what failed.
    page.login(MASTER_KEY)
    page.find("#page-title")
    page.driver.get(CONSOLE_URL + "/auth/sso/callback?code=x&state=y")
    assert page.toast("Single sign-on failed: ").startswith("Single sign-on failed: ")
    assert page.find("#whoami").text == "Signed in as master (admin)"


@pytest.mark.skipif(not ALLOWED_DOMAINS, reason="the gateway allows every e-mail domain (SCUTUM_OIDC_ALLOWED_DOMAINS unset)")
def test_an_email_domain_that_is_not_allowed_is_refused(page):
    email = f"{unique('outsider')}@not-{DOMAIN}"
    set_groups(email, ["scutum-admins"])
    sign_in_with_sso(page, email)
    error = page.find("#login-error")
    page.wait(lambda d: error.text.strip() != "", 15, "the refusal")
    assert page.driver.find_element(By.ID, "app-view").get_attribute("hidden") is not None
    assert page.driver.execute_script("return localStorage.getItem('scutum.console.session')") is None

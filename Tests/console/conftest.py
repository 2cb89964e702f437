"""Fixtures for the admin console's browser tests: headless Chromium (Debian's chromium and
chromedriver) driven by Selenium against a running gateway whose console listens on
SCUTUM_CONSOLE_URL (default http://127.0.0.1:5173), proxy on SCUTUM_BASE_URL (default
http://127.0.0.1:4000), signed in with SCUTUM_API_KEY (the master key)."""
import json
import os
import pathlib
import shutil
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CONSOLE_URL = os.environ.get("SCUTUM_CONSOLE_URL", "http://127.0.0.1:5173").rstrip("/")
PROXY_URL = os.environ.get("SCUTUM_BASE_URL", "http://127.0.0.1:4000").rstrip("/")
MASTER_KEY = os.environ.get("SCUTUM_API_KEY")
ROOT = pathlib.Path(__file__).resolve().parents[2]
LOGS = os.environ.get("SCUTUM_E2E_LOGS")
SCREENSHOTS = pathlib.Path(LOGS) / "console" if LOGS else ROOT / ".data" / "test" / "screenshots"

pytestmark = pytest.mark.skipif(not MASTER_KEY, reason="make test provides SCUTUM_API_KEY and a running gateway")


def http(method, url, body=None, token=None, timeout=30):
    """A JSON request; returns (status, parsed body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text or b"null")
        except ValueError:
            return error.code, text.decode(errors="replace")


def chat(key, content="Hello from the console test"):
    """One chat completion through the proxy with `key`."""
    return http("POST", PROXY_URL + "/v1/chat/completions",
                {"model": "gpt-5-mini", "messages": [{"role": "user", "content": content}]}, token=key)


def chat_until_refused(key, timeout=10):
    """Chat completions with `key` until the proxy refuses it (401: a change reaches every node within
    a second) or `timeout` seconds pass; returns the last (status, body)."""
    deadline = time.time() + timeout
    while True:
        status, body = chat(key)
        if status == 401 or time.time() > deadline:
            return status, body
        time.sleep(0.3)


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield SCREENSHOTS
    print(f"\nconsole screenshots: {SCREENSHOTS}")


def chrome_options(width=1280, height=900):
    options = Options()
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--disable-gpu", "--lang=en-US"):
        options.add_argument(argument)
    # Let navigator.clipboard work headless for the copy button.
    options.add_experimental_option("prefs", {"profile.content_settings.exceptions.clipboard": {
        f"{CONSOLE_URL},*": {"setting": 1}}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def new_driver(width=1280, height=900):
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=chrome_options(width, height))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def browser():
    driver = new_driver()
    yield driver
    driver.quit()


class Console:
    """The console page as a user drives it."""

    def __init__(self, driver):
        self.driver = driver

    def wait(self, condition, timeout=15, message=""):
        """Polls `condition`; elements replaced by a re-render (stale) just mean "not yet"."""
        return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException]).until(condition, message)

    def find(self, css, timeout=15):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"visible {css}")

    def click(self, css, timeout=15):
        element = self.wait(EC.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout, f"clickable {css}")
        self.press(element)
        return element

    def press(self, element):
        """Clicks `element` after scrolling it to the middle of the window (clear of the toasts)."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def button(self, label, scope=None, timeout=15):
        """A visible button whose text or aria-label is `label`."""
        def found(driver):
            root = scope or driver
            for element in root.find_elements(By.CSS_SELECTOR, "button, a.button"):
                if element.is_displayed() and element.is_enabled() and (
                        element.text.strip() == label or element.get_attribute("aria-label") == label):
                    return element
            return False
        return self.wait(found, timeout, f"button {label!r}")

    def open(self, route=""):
        self.driver.get(f"{CONSOLE_URL}/#/{route}")

    def login(self, key):
        self.open("dashboard")
        self.driver.execute_script("localStorage.clear()")
        self.driver.refresh()
        field = self.find("#login-key")
        field.clear()
        field.send_keys(key)
        self.click("#login-submit")

    def go(self, route, heading):
        """Navigates with the nav link for `route` and waits for the page's heading."""
        nav_toggle = self.driver.find_element(By.ID, "nav-toggle")
        if nav_toggle.is_displayed():
            nav_toggle.click()
        self.click(f'#nav a[data-route="{route}"]')
        self.wait(lambda d: d.find_element(By.ID, "page-title").text == heading, 15, f"heading {heading}")

    def dialog(self):
        return self.find("dialog[open]")

    def fill(self, name, value):
        """Types into a form dialog's field (select fields take the option value, checkboxes a bool)."""
        element = self.find(f"dialog[open] [name='{name}']")
        if element.get_attribute("type") == "checkbox":
            if element.is_selected() != value:
                element.click()
        elif element.tag_name == "select":
            from selenium.webdriver.support.ui import Select
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)

    def submit_dialog(self):
        dialog = self.dialog()
        dialog.find_element(By.CSS_SELECTOR, "button[type=submit], .button-danger").click()

    def dialog_closed(self, timeout=15):
        """Waits until no dialog is left: a closed one is removed on its "close" event, which the
        browser fires a moment after closing it (under load, after a command or two of ours)."""
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog"), timeout, "the dialog to close")

    def toast(self, text, timeout=10):
        """Waits for a toast containing `text` and returns its whole text."""
        return self.wait(lambda d: next((t.text for t in d.find_elements(By.CSS_SELECTOR, "#toasts .toast")
                                         if text in t.text), False), timeout, f"a toast saying {text!r}")

    def row(self, label, timeout=15):
        return self.wait(lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "tbody tr")
                                         if r.get_attribute("data-row") == label), False), timeout, f"row {label}")

    def errors_in_console(self):
        """Browser console errors (CSP violations, exceptions), excluding expected 401/4xx fetch logs."""
        entries = self.driver.get_log("browser")
        return [entry for entry in entries if entry["level"] == "SEVERE"
                and "the server responded with a status of 4" not in entry["message"]]

    def screenshot(self, directory, name):
        """A PNG of the whole page: the window grows to the document's height for the shot."""
        path = directory / f"{name}.png"
        size = self.driver.get_window_size()
        height = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
        self.driver.set_window_size(size["width"], min(max(height + 100, size["height"]), 5000))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path


@pytest.fixture(scope="session")
def console(browser):
    page = Console(browser)
    page.login(MASTER_KEY)
    page.find("#page-title")
    return page


def pytest_terminal_summary(terminalreporter):
    """Says where the screenshots are, pass or fail."""
    terminalreporter.write_line(f"console screenshots: {SCREENSHOTS}")

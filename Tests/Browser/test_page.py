"""The page at `GET /` in a real headless browser (Debian's chromium through chromedriver and Selenium).

Run by `make test` through scripts/test_page_browser.sh, which installs the pinned Selenium into .venv-browser
and passes the built binary in WARDEN_BINARY. The server serves the trained default model, so the message
typed is really flagged and its insult really highlighted. Set WARDEN_PAGE_SCREENSHOT to a path to keep a
screenshot of the page with a result (docs/images/page.png is one).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "models", "minilm-moderation")
MESSAGE = "thanks for the help 🙏, but you are a complete idiot"
POLICIES = """policies:
  kids:
    description: Children's server
    action: block
    thresholds: {harassment: 0.2}
  community:
    action: mask
"""


def start_warden(*arguments: str) -> tuple[subprocess.Popen, str]:
    """`warden serve` on a free port; returns the process and its base URL once it is ready."""
    process = subprocess.Popen(
        [os.environ["WARDEN_BINARY"], "serve", "--port", "0", "--model", MODEL, "--log-level", "warning", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if "Warden is ready on " in line:
            return process, line.split("Warden is ready on ")[1].split()[0]
    process.kill()
    pytest.fail("warden serve did not become ready")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (os.access(chromium, os.X_OK) and os.access(driver_path, os.X_OK)):
        pytest.fail("chromium and chromium-driver are not installed (scripts/setup.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1300"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server():
    folder = tempfile.mkdtemp(prefix="warden-page-")
    policies = os.path.join(folder, "policies.yaml")
    with open(policies, "w") as file:
        file.write(POLICIES)
    process, base = start_warden("--policies", policies)
    yield base
    stop(process)
    shutil.rmtree(folder, ignore_errors=True)


def wait(driver, condition, timeout: float = 60):
    return WebDriverWait(driver, timeout).until(condition)


def test_type_a_message_and_see_bars_highlights_and_metrics(browser, server):
    browser.get(server + "/")
    wait(browser, EC.text_to_be_present_in_element((By.ID, "model"), "minilm-moderation"))
    # The policies of the server are offered.
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#policy option")]
    assert options == ["", "kids", "community"]

    # Keyboard only: type, then Ctrl+Enter in the message box.
    box = browser.find_element(By.ID, "text")
    box.click()
    box.send_keys(MESSAGE)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait(browser, EC.visibility_of_element_located((By.ID, "result")))

    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    categories = {bar.get_attribute("data-category") for bar in bars}
    assert "harassment" in categories and len(bars) == 8
    harassment = browser.find_element(By.CSS_SELECTOR, '#bars .bar[data-category="harassment"]')
    assert "flagged" in harassment.get_attribute("class")
    width = harassment.find_element(By.CSS_SELECTOR, ".fill").value_of_css_property("width")
    assert float(width.removesuffix("px")) > 0
    assert browser.find_element(By.ID, "decision").text.startswith("Flagged")

    marks = browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")
    assert "idiot" in [m.text for m in marks]
    # The spans are UTF-16 offsets of the text as typed: the emoji before the insult counts as two.
    idiot = next(m for m in marks if m.text == "idiot")
    assert int(idiot.get_attribute("data-start")) == len(MESSAGE.encode("utf-16-le")) // 2 - len("idiot")
    assert browser.find_element(By.ID, "highlighted").text == MESSAGE

    # A policy chosen from the keyboard decides, and the page says so with its action.
    select = browser.find_element(By.ID, "policy")
    select.send_keys(Keys.DOWN)
    assert select.get_attribute("value") == "kids"
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait(browser, EC.text_to_be_present_in_element((By.ID, "decision"), "under policy kids → block"))

    # The live figures fill in from /metrics.
    wait(browser, lambda d: d.find_element(By.ID, "m-batch").text not in ("", "–"))
    assert browser.find_element(By.ID, "m-queue").text.isdigit()
    wait(browser, lambda d: d.find_element(By.ID, "m-throughput").text not in ("", "–"))
    if os.environ.get("WARDEN_PAGE_SCREENSHOT"):
        # The README's picture: an obfuscated insult, under the model's thresholds.
        browser.find_element(By.ID, "policy").send_keys(Keys.UP)
        box.clear()
        box.send_keys("honestly mate, you are a complete i d i o t", Keys.CONTROL, Keys.ENTER)
        wait(browser, lambda d: "i d i o t" in [m.text for m in d.find_elements(By.CSS_SELECTOR, "#highlighted mark")])
        browser.find_element(By.ID, "check").send_keys("")  # focus leaves the message box
        browser.save_screenshot(os.environ["WARDEN_PAGE_SCREENSHOT"])


def test_readable_on_a_phone(browser, server):
    browser.set_window_size(390, 844)
    try:
        browser.get(server + "/")
        wait(browser, EC.text_to_be_present_in_element((By.ID, "model"), "minilm-moderation"))
        box = browser.find_element(By.ID, "text")
        box.send_keys(MESSAGE, Keys.CONTROL, Keys.ENTER)
        wait(browser, EC.visibility_of_element_located((By.ID, "result")))
        # Nothing wider than the screen: no sideways scrolling.
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        browser.set_window_size(1100, 1300)


def test_asks_for_the_api_key_and_keeps_it_for_the_session_only(browser):
    process, base = start_warden("--api-key", "page-test-key-0123456789")
    try:
        browser.get(base + "/")
        wait(browser, EC.visibility_of_element_located((By.ID, "key-panel")))
        key = browser.find_element(By.ID, "api-key")
        key.send_keys("page-test-key-0123456789", Keys.ENTER)
        wait(browser, EC.text_to_be_present_in_element((By.ID, "model"), "minilm-moderation"))
        assert not browser.find_element(By.ID, "key-panel").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('warden-api-key')") == "page-test-key-0123456789"
        assert browser.execute_script("return localStorage.length") == 0
        box = browser.find_element(By.ID, "text")
        box.send_keys(MESSAGE, Keys.CONTROL, Keys.ENTER)
        wait(browser, EC.visibility_of_element_located((By.ID, "result")))
        assert browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")
    finally:
        browser.execute_script("sessionStorage.clear()")
        stop(process)


def test_no_ui_turns_the_page_off():
    process, base = start_warden("--no-ui")
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/")
        assert refused.value.code == 404
    finally:
        stop(process)

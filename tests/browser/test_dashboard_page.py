"""The dashboard page in headless Chromium (Debian `chromium` + `chromium-driver`, driven by
Selenium over loopback): every section renders, with its charts, and the console stays clean.
A screenshot goes to a temporary directory (path printed), never into the repository."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from store.db import make_engine, make_sessionmaker
from tests.analytics import dataset
from tests.conftest import make_settings
from tests.integration.api_server import serve_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
VIEWER = "viewer-secret-for-the-browser"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="chromium/chromium-driver missing: run scripts/ensure-browser.sh",
)

SECTIONS = {
    "summary": "#kpis .kpi",
    "active": "#active table tbody tr",
    "volume-severity": "#severity svg rect",
    "volume-over-time": "#overtime svg rect",
    "ack-times": "#ack svg rect",
    "resolution-times": "#resolution svg rect",
    "triggers": "#triggers svg rect",
    "outcomes": "#outcomes table tr",
    "routes": "#routes table tbody tr",
    "agents": "#agents table tbody tr",
    "reasons": "#reasons table tbody tr",
    "oncall": "#oncall table tbody tr",
}


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        dataset.load(session)
    engine.dispose()
    settings = make_settings(
        database_url,
        "unused",
        temporal_address="127.0.0.1:9",
        escalation_api_keys=f"browser:viewer:{VIEWER}",
        escalation_api_key_pepper="pepper-for-browser-tests-0123",
    )
    with serve_api(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--window-size=1400,2600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_dashboard_renders_every_section_with_charts(
    base_url: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{base_url}/dashboard?period=2026-01&key={VIEWER}")
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return Number(document.body.dataset.loaded || 0)") >= 1
    )
    assert "key=" not in browser.current_url  # the key moved to localStorage
    assert browser.find_element(By.TAG_NAME, "h1").text == "Escalation Management Dashboard"
    for section, selector in SECTIONS.items():
        box = browser.find_element(By.CSS_SELECTOR, f'[data-section="{section}"]')
        assert box.is_displayed(), section
        assert browser.find_elements(By.CSS_SELECTOR, selector), f"{section}: nothing at {selector}"
    links = browser.find_elements(By.CSS_SELECTOR, "#active a")
    assert links[0].get_attribute("href").endswith("/workflows/escalation-T1")
    assert "Last refresh" not in browser.find_element(By.ID, "status").text
    assert "refreshes every 30 s" in browser.find_element(By.ID, "status").text
    kpis = browser.find_element(By.ID, "kpis").text
    assert "CSAT" in kpis and "4.00 / 5" in kpis
    assert browser.find_elements(By.CSS_SELECTOR, "#agents .flag")  # a1's coaching flag

    # The team filter refetches and redraws.
    browser.execute_script(
        "const s=document.getElementById('team'); s.value='security';"
        "s.dispatchEvent(new Event('change'));"
    )
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return Number(document.body.dataset.loaded)") >= 2
    )
    assert "security" in browser.find_element(By.ID, "status").text

    shots = Path(os.environ.get("DASHBOARD_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="dash-"))
    shots.mkdir(parents=True, exist_ok=True)
    browser.execute_script(
        "const s=document.getElementById('team'); s.value='';s.dispatchEvent(new Event('change'));"
    )
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return Number(document.body.dataset.loaded)") >= 3
    )
    path = shots / "dashboard.png"
    assert browser.save_screenshot(str(path))
    print(f"dashboard screenshot: {path}")

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors


def test_page_asks_for_a_key_without_one(base_url: str, browser: webdriver.Chrome) -> None:
    browser.get(f"{base_url}/dashboard")
    browser.execute_script("localStorage.clear()")
    browser.get(f"{base_url}/dashboard")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "login").is_displayed())
    assert "API key needed" in browser.find_element(By.ID, "status").text
    browser.get_log("browser")  # the 401 is expected here; drain it

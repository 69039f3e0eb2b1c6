"""The load report's HTML in a real headless browser: its plots (the timeline among them) and tables
render, with no console error (script errors and CSP violations log as SEVERE).

Skips when /usr/bin/chromium is missing (CI installs `chromium chromium-driver`)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from infermeter.render.html import render_html

from .test_html_browser import CHROMEDRIVER, CHROMIUM, _missing

pytestmark = [pytest.mark.integration]


def _load_report() -> dict:
    path = Path(__file__).parents[1] / "unit" / "render" / "test_load_report.py"
    spec = importlib.util.spec_from_file_location("_load_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load_report()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a selenium driver
    if not CHROMIUM.exists():
        _missing("Debian's chromium")
    if not CHROMEDRIVER.exists() and not shutil.which("chromedriver"):
        _missing("chromedriver")
    from selenium import webdriver

    tmp = tmp_path_factory.mktemp("html-load")
    html_file = tmp / "load.html"
    html_file.write_text(render_html([_load_report()]), encoding="utf-8")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 f"--user-data-dir={tmp / 'profile'}", "--window-size=1200,900"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER if CHROMEDRIVER.exists() else "chromedriver"))
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.get(html_file.as_uri())
        yield driver
    finally:
        driver.quit()


def test_load_page_has_plots_timeline_and_no_script_errors(page) -> None:  # noqa: ANN001
    driver = page
    assert driver.execute_script("return document.readyState") == "complete"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    ids = driver.execute_script("return [...document.querySelectorAll('figure.plot')].map(f => f.id)")
    assert ids == [
        "report-1-load-latency",
        "report-1-load-throughput",
        "report-1-load-goodput",
        "report-1-load-timeline",
    ]
    widths = driver.execute_script(
        "return [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width)"
    )
    assert len(widths) == 4 and all(w > 100 for w in widths)
    text = driver.execute_script("return document.body.innerText")
    assert "SLO search" in text and "server metrics" in text and "the client's own delays" in text
    assert "no HTML view" not in text
    driver.find_element("css selector", "#report-1-slo-search th").click()  # the sort script still runs
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []

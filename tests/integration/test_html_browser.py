"""The HTML report in a real headless browser (Debian's chromium + chromedriver, driven by selenium):
the page renders without console errors (script errors and CSP violations both log as SEVERE), the
plots and tables are there, and a dataset string containing ``<script>`` is shown as text, never run.

Skips when /usr/bin/chromium is missing (CI installs `chromium chromium-driver`)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from infermeter.render.html import render_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [pytest.mark.integration]


def _missing(what: str) -> None:
    """Skip on a developer's machine without the browser; under CI (where `make test` installs it) fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing under CI: `make test` should have installed it")
    pytest.skip(f"needs {what}: apt-get install chromium chromium-driver")


def _fixtures():  # noqa: ANN202 - a module
    path = Path(__file__).parents[1] / "unit" / "render" / "test_html.py"
    spec = importlib.util.spec_from_file_location("_report_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a selenium driver
    if not CHROMIUM.exists():
        _missing("Debian's chromium")
    if not CHROMEDRIVER.exists() and not shutil.which("chromedriver"):
        _missing("chromedriver")
    from selenium import webdriver

    fx = _fixtures()
    tmp = tmp_path_factory.mktemp("html")
    html_file = tmp / "report.html"
    html_file.write_text(render_html(fx.all_reports()), encoding="utf-8")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp / 'profile'}", "--window-size=1200,900"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER if CHROMEDRIVER.exists() else "chromedriver"))
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.get(html_file.as_uri())
        yield driver, fx
    finally:
        driver.quit()


def test_page_renders_without_console_errors(page) -> None:  # noqa: ANN001
    driver, _ = page
    assert driver.execute_script("return document.readyState") == "complete"
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_plots_and_tables_are_present(page) -> None:  # noqa: ANN001
    driver, _ = page
    assert driver.execute_script("return document.querySelectorAll('section.report').length") == 3
    assert driver.execute_script("return document.querySelectorAll('figure.plot svg').length") == 6
    assert driver.execute_script("return document.querySelectorAll('table').length") >= 10
    # the SVGs really laid out (non-zero size), not just present in the DOM
    widths = driver.execute_script(
        "return [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width)"
    )
    assert all(w > 100 for w in widths)


def test_dataset_script_stays_text(page) -> None:  # noqa: ANN001
    driver, fx = page
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert fx.EVIL_TEXT in driver.execute_script("return document.body.innerText")
    assert fx.EVIL_VARIANT in driver.execute_script("return document.body.innerText")
    scripts = driver.execute_script("return [...document.scripts].map(s => s.textContent)")
    assert len(scripts) == 1 and "alert(1)" not in scripts[0]
    assert driver.execute_script("return document.querySelectorAll('b').length") == 0  # <b> stayed text


def test_sort_script_runs(page) -> None:  # noqa: ANN001
    driver, _ = page
    first = "return document.querySelector('#report-1-context tbody tr td').textContent"
    assert driver.execute_script(first) == "16"
    driver.find_element("css selector", "#report-1-context th").click()  # ascending: unchanged
    driver.find_element("css selector", "#report-1-context th").click()  # descending
    assert driver.execute_script(first) == "64"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []

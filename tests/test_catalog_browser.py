"""The committed catalog (`dist/catalog/`) in a real browser: Debian's headless Chromium driven
through its chromedriver by Selenium, over file:// as a SOC engineer opens it from a checkout or
an unpacked release bundle.

Without Chromium (`scripts/install-test-tools` installs it) these tests skip locally and fail
in CI (`CI=true`): the promise that the pages work is only kept where they are run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.publish.deploy.metadata import RuleMetadata
from converter.publish.manifest import read_manifest

from .conftest import REPO

CATALOG = REPO / "dist" / "catalog"


def _first_file(*candidates: str | None) -> str | None:
    return next((path for path in candidates if path and Path(path).is_file()), None)


# Debian's chromium and chromium-driver (scripts/install-test-tools); where Debian's packages do
# not exist (Ubuntu ships Chromium as a snap), a Chrome and chromedriver already on the machine,
# as hosted CI runners have them (CHROMEWEBDRIVER names the driver's folder there).
CHROMIUM = _first_file(
    os.environ.get("CERTDETECT_CHROMIUM"),
    "/usr/bin/chromium",
    shutil.which("google-chrome") or shutil.which("chromium-browser"),
)
CHROMEDRIVER = _first_file(
    os.environ.get("CERTDETECT_CHROMEDRIVER"),
    "/usr/bin/chromedriver",
    shutil.which("chromedriver"),
    os.path.join(os.environ.get("CHROMEWEBDRIVER", "/nonexistent"), "chromedriver"),
)
# Flags that keep Chromium from reaching the network on its own (updates, sync, field trials).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
MANIFEST = read_manifest(REPO / "dist" / "manifest.json")
RULE_PAGES = sorted(path.relative_to(CATALOG).as_posix() for path in CATALOG.glob("rules/*.html"))
PAGE_TYPES = (
    "index.html",
    "attack.html",
    "rules/proc_creation_win_certutil_certificate_import.html",
)


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Chromium or its chromedriver is absent; run scripts/install-test-tools"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed; pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the catalog's browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="certdetect-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download a driver
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # A real clipboard: the copy buttons are checked by reading it back.
    driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, name: str) -> None:
    browser.get_log("browser")  # read and dropped: the logs then hold this page's entries only
    browser.get_log("performance")
    browser.get((CATALOG / name).as_uri())


def visible_titles(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, "#rules tbody tr")
    return [row.find_element(By.CSS_SELECTOR, "th a").text for row in rows if row.is_displayed()]


def choose(browser, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, select_id)).select_by_value(value)


def test_the_index_lists_every_rule_that_certdetect_list_prints(browser) -> None:
    listed = CliRunner().invoke(main, ["list", "--project", str(REPO), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    open_page(browser, "index.html")
    assert sorted(visible_titles(browser)) == sorted(
        row["title"] for row in json.loads(listed.output)
    )


def test_the_text_filter_narrows_the_rows_to_the_matching_rules(browser) -> None:
    from selenium.webdriver.common.by import By

    rules = [RuleMetadata.of(rule) for rule in load_rules(Project.at(REPO))]
    zeek = sorted(
        rule.title
        for rule in rules
        if any("zeek" in text.lower() for text in (rule.title, rule.description, rule.product))
    )
    open_page(browser, "index.html")
    text = browser.find_element(By.ID, "filter-text")
    text.send_keys("Zeek")
    assert zeek and len(zeek) < len(rules) and sorted(visible_titles(browser)) == zeek
    assert browser.find_element(By.ID, "shown").text == f"{len(zeek)} of {len(rules)} rules shown"
    text.clear()
    text.send_keys(rules[3].id)
    assert visible_titles(browser) == [rules[3].title]


def test_the_level_technique_and_target_status_filters_narrow_the_rows(browser) -> None:
    open_page(browser, "index.html")
    choose(browser, "filter-level", "high")
    high = sorted(rule.title for rule in MANIFEST.rules if rule.level == "high")
    assert high and sorted(visible_titles(browser)) == high
    choose(browser, "filter-level", "")
    choose(browser, "filter-target", "eql")
    choose(browser, "filter-status", "unsupported")
    unsupported = sorted(
        r.title for r in MANIFEST.rules if r.targets["eql"].status == "unsupported"
    )
    assert unsupported and sorted(visible_titles(browser)) == unsupported
    choose(browser, "filter-target", "")
    choose(browser, "filter-status", "")
    choose(browser, "filter-technique", "T1553.004")
    trust = sorted(r.title for r in MANIFEST.rules if "attack.t1553.004" in r.tags)
    assert trust and sorted(visible_titles(browser)) == trust


@pytest.mark.parametrize("page", RULE_PAGES)
def test_each_copy_button_puts_exactly_the_dist_query_on_the_clipboard(browser, page) -> None:
    from selenium.webdriver.common.by import By

    stem = Path(page).stem
    rule = next(r for r in MANIFEST.rules if Path(r.source).stem == stem)
    open_page(browser, page)
    paths = [entry.path for entry in rule.targets.values() if entry.path is not None]
    assert paths
    read_clipboard = "navigator.clipboard.readText().then(arguments[0], e => arguments[0]('' + e))"
    for name, entry in rule.targets.items():
        buttons = browser.find_elements(By.CSS_SELECTOR, f'button[data-copy="query-{name}"]')
        if entry.path is None:
            assert buttons == []
            continue
        browser.execute_async_script("navigator.clipboard.writeText('').then(arguments[0])")
        buttons[0].click()
        expected = (REPO / "dist" / entry.path).read_text(encoding="utf-8")
        assert browser.execute_script("return window.catalogLastCopy") == expected
        assert browser.execute_async_script(read_clipboard) == expected
        assert buttons[0].text == "Copied"


@pytest.mark.parametrize("page", ["index.html", "attack.html", *RULE_PAGES])
def test_a_page_loads_with_no_console_error_and_no_request_outside_the_catalog(
    browser, page
) -> None:
    open_page(browser, page)
    assert browser.get_log("browser") == []
    requests = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in browser.get_log("performance")
        if '"Network.requestWillBeSent"' in entry["message"]
    ]
    inside = CATALOG.as_uri() + "/"
    assert requests and all(url.startswith(inside) for url in requests), requests


@pytest.mark.parametrize("page", PAGE_TYPES)
def test_a_screenshot_of_each_page_type_shows_rendered_content(browser, page) -> None:
    from PIL import Image, ImageStat

    open_page(browser, page)
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("L")
    below_header = image.crop((0, 60, image.width, image.height))  # the nav bar alone is not a page
    spread = ImageStat.Stat(below_header).stddev[0]
    assert spread > 20, f"{page}: screenshot looks blank (grey-level deviation {spread:.1f})"


def test_without_script_every_rule_and_query_is_readable_and_no_control_is_shown(browser) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        open_page(browser, "index.html")
        assert len(visible_titles(browser)) == len(MANIFEST.rules)
        assert not browser.find_element(By.ID, "filters").is_displayed()
        open_page(browser, PAGE_TYPES[2])
        query = browser.find_element(By.ID, "query-eql")
        assert query.is_displayed() and query.text.startswith("any where")
        assert not any(b.is_displayed() for b in browser.find_elements(By.CSS_SELECTOR, ".copy"))
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})

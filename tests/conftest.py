"""Shared fixtures: every test starts and ends with the bundled (schematic) layers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Lookups cached across processes go to a folder of the test runs, not the user's ~/.cache.
os.environ.setdefault("WUZHONG_GEO_CACHE", str(Path(tempfile.gettempdir()) / "wuzhong_geo_test_cache"))

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
#: Debian's Chromium, driven by Playwright in the browser tests (the web map, the web app).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
#: Skip reasons for a missing Debian package say "apt-get install <package>"; CI must not skip them.
SYSTEM_PACKAGE_SKIP = "apt-get install"

pytest_plugins = ["pytester"]

# Generated cases are judged on what they return, not on wall time: on a shared 2-core CI machine
# Hypothesis's default 200 ms deadline fails healthy tests (speed claims live in benchmarks/).
hypothesis_settings.register_profile("wuzhong_geo", deadline=None)
hypothesis_settings.load_profile("wuzhong_geo")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true, a test skipped because a system package is missing fails instead."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and _in_ci()):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    if SYSTEM_PACKAGE_SKIP in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true, but a system package is missing ({reason}): install it in .ci/run"


@pytest.fixture(autouse=True)
def _schematic_layers():
    from wuzhong_geo import layers

    layers.use_boundaries(None)
    layers.use_zone_rules(None)
    yield
    layers.use_boundaries(None)
    layers.use_zone_rules(None)


@pytest.fixture
def test_data() -> Path:
    """Folder of the fixtures authored for the tests."""
    return DATA


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()

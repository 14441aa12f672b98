"""Shared fixtures: every test starts and ends with the bundled (schematic) layers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Lookups cached across processes go to a folder of the test runs, not the user's ~/.cache.
os.environ.setdefault("WUZHONG_GEO_CACHE", str(Path(tempfile.gettempdir()) / "wuzhong_geo_test_cache"))

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
ROOT = TESTS.parent
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


def start_server(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, float]:
    """Run `wuzhong-geo serve --port 0` and return (process, URL, seconds until the page answered)."""
    t0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from wuzhong_geo.cli import main; main()", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, f"no URL in the banner: {line!r}"
    url = match.group(0)
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=5).read()
            break
        except OSError:
            time.sleep(0.05)
    return proc, url, time.time() - t0

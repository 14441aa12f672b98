"""Shared fixtures: every test starts and ends with the bundled (schematic) layers."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
#: Debian's Chromium, driven by Playwright in the browser tests (the web map, the web app).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


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

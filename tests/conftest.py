"""Shared fixtures: every test starts and ends with the bundled (schematic) layers."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"


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

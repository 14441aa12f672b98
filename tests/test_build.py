"""The committed base geometry is exactly what the build script makes from its sources."""

from __future__ import annotations

import json
import os
import shutil

import geopandas as gpd
import pytest

from wuzhong_geo.build import sources
from wuzhong_geo.settings import ANALYSIS_CRS, base_gpkg

LAYERS = ("district", "land", "taihu", "taihu_full", "sip_removed", "towns_schematic", "context")

_missing = shutil.which("gmt") is None or not sources.GSHHG_FILE.exists()
if _missing and os.environ.get("CI"):
    raise RuntimeError("CI must install gmt and gmt-gshhg-full to check the base-geometry build")
pytestmark = [
    pytest.mark.build,
    pytest.mark.skipif(_missing, reason="needs apt-get install gmt gmt-gshhg-full (CI installs them)"),
]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    from wuzhong_geo.build.base import build, write

    out = tmp_path_factory.mktemp("base")
    return write(build(), out), build


@pytest.mark.parametrize("layer", LAYERS)
def test_build_reproduces_committed_layer(rebuilt, layer):
    path, _ = rebuilt
    new = gpd.read_file(path, layer=layer).to_crs(ANALYSIS_CRS)
    old = gpd.read_file(base_gpkg(), layer=layer).to_crs(ANALYSIS_CRS)
    assert len(new) == len(old)
    assert list(new.columns) == list(old.columns)
    attrs = [c for c in new.columns if c != "geometry"]
    assert new[attrs].equals(old[attrs])
    for a, b in zip(new.geometry, old.geometry):
        assert a.symmetric_difference(b).area < 1.0, f"{layer}: geometry moved (> 1 m²)"


def test_build_report_is_committed_and_current(rebuilt):
    path, _ = rebuilt
    new = json.loads(path.with_name("build_report.json").read_text(encoding="utf-8"))
    old = json.loads(base_gpkg().with_name("build_report.json").read_text(encoding="utf-8"))
    assert new == old


def test_build_removes_suzhou_industrial_park():
    report = json.loads(base_gpkg().with_name("build_report.json").read_text(encoding="utf-8"))
    areas = report["areas_km2"]
    assert 150 < areas["sip_removed"] < 300
    assert areas["district"] == pytest.approx(areas["land"] + areas["taihu_wuzhong"], abs=0.5)

"""The committed base geometry is exactly what the build script makes from its sources."""

from __future__ import annotations

import json
import os
import shutil

import geopandas as gpd
import numpy as np
import pytest
import shapely

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
def inputs():
    from wuzhong_geo.build.base import load_inputs

    return load_inputs()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, inputs):
    from wuzhong_geo.build.base import build, write

    out = tmp_path_factory.mktemp("base")
    return write(build(inputs=inputs), out), build


def _jitter(inputs, seed: int, size_m: float = 1e-9):
    """Return the build inputs with every coordinate moved by up to ``size_m`` (analysis CRS)."""
    from dataclasses import replace

    def noise(xy: np.ndarray) -> np.ndarray:
        # A pseudo-random offset that is a function of the coordinate, so rings stay closed.
        phase = np.sin(xy[:, :1] * (12.9898 + seed) + xy[:, 1:] * (78.233 - seed)) * 43758.5453
        return size_m * (2 * (phase - np.floor(phase)) - 1) * np.array([[1.0, -1.0]])

    def move(geom):
        return shapely.transform(geom, lambda xy: xy + noise(xy))

    sites = inputs.sites.copy()
    sites.geometry = gpd.GeoSeries([move(g) for g in sites.geometry], crs=sites.crs)
    return replace(
        inputs, outline=move(inputs.outline), outline_comparison=move(inputs.outline_comparison),
        taihu=move(inputs.taihu), sites=sites,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_build_towns_survive_1e9_m_perturbation(rebuilt, inputs, seed):
    """Moving every input coordinate by up to 1e-9 m moves no town by 1 m² (no knife-edge decision)."""
    from wuzhong_geo.build.base import build

    path, _ = rebuilt
    base = gpd.read_file(path, layer="towns_schematic").to_crs(ANALYSIS_CRS)
    moved = build(inputs=_jitter(inputs, seed)).layers["towns_schematic"].to_crs(ANALYSIS_CRS)
    assert list(moved["code"]) == list(base["code"])
    diffs = [a.symmetric_difference(b).area for a, b in zip(moved.geometry, base.geometry)]
    assert max(diffs) < 1.0, dict(zip(base["code"], diffs))


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


def test_gmt_leaves_no_files_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(sources.gshhg_polygons()) > 0
    assert list(tmp_path.iterdir()) == []  # no gmt.history / gmt.conf

"""What a new check process loads instead of building: the context's layers and the CRS transformers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyproj
import pytest

from wuzhong_geo import coords

# A check of a few sites printed as text: the same answer whether the context was built or loaded.
CHECK = """
import sys
from wuzhong_geo import context, layers, zones
def boom(*a, **k): raise SystemExit('built again: ' + sys.argv[1])
if sys.argv[1] == 'cached':
    context._layers_part = boom
    zones.town_zone_parts = boom
if len(sys.argv) > 2:
    layers.use_boundaries(sys.argv[2])
import pandas as pd
from wuzhong_geo.pipeline import check_sites
sites = pd.DataFrame({"name": ["a", "b", "c"], "lon": [120.6, 120.45, 120.85], "lat": [31.26, 31.05, 31.24]})
out = check_sites(sites)
print(out.drop(columns="geometry").to_csv(index=False))
"""


def _run(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHECK, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_new_process_loads_the_context_from_the_disk_cache(tmp_path):
    """The second process answers the same without reprojecting or splitting the layers again."""
    from wuzhong_geo import layers

    env = {**os.environ, "WUZHONG_GEO_CACHE": str(tmp_path / "cache")}
    first = _run(env, "build")
    assert len(list((tmp_path / "cache").glob("context-*.pkl"))) == 1
    assert len(list((tmp_path / "cache").glob("zone_parts-*.pkl"))) == 1
    assert _run(env, "cached") == first
    official = tmp_path / "official.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(official)
    with_official = _run(env, "build", str(official))
    assert "official" in with_official  # the rows say which boundaries answered
    assert len(list((tmp_path / "cache").glob("context-*.pkl"))) == 2  # --boundaries: own entry
    assert _run(env, "cached", str(official)) == with_official


@pytest.mark.parametrize(("src", "dst"), [("EPSG:4326", "EPSG:4549"), ("EPSG:4549", "EPSG:4326"),
                                          ("EPSG:4490", "EPSG:4326"), ("EPSG:4326", "EPSG:3857")])
def test_the_cached_transformer_gives_the_numbers_of_from_crs(src, dst):
    """The pipeline kept in the disk cache transforms exactly as PROJ's own choice does."""
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(119.9, 121.1, 2000), rng.uniform(30.8, 31.5, 2000)
    if src == "EPSG:4549":
        lon, lat = pyproj.Transformer.from_crs("EPSG:4326", src, always_xy=True).transform(lon, lat)
    reference = pyproj.Transformer.from_crs(src, dst, always_xy=True).transform(lon, lat)
    coords._TRANSFORMERS.clear()
    got = coords.transformer(src, dst).transform(lon, lat)
    np.testing.assert_array_equal(got[0], reference[0])
    np.testing.assert_array_equal(got[1], reference[1])


def test_a_pair_with_alternative_operations_is_not_frozen():
    """Beijing 1954 → WGS84 has several operations (PROJ picks by area): no single pipeline is kept."""
    assert coords._single_operation("EPSG:4214", "EPSG:4326") is None
    assert "tmerc" in coords._single_operation("EPSG:4326", "EPSG:4549")
    coords._TRANSFORMERS.clear()
    tr = coords.transformer("EPSG:4214", "EPSG:4326")
    ref = pyproj.Transformer.from_crs("EPSG:4214", "EPSG:4326", always_xy=True)
    assert tr.transform(120.6, 31.3) == ref.transform(120.6, 31.3)


def test_the_segment_indexes_a_process_loads_stay_small():
    """Candidates are 4-byte segment numbers, their distance terms kept once per segment: the context's
    indexes load as ~35 MB, not the ~310 MB that per-candidate terms took (peak memory of a check)."""
    import pickle

    from wuzhong_geo.context import build_context
    from wuzhong_geo.rules import load_rules

    ctx = build_context(load_rules(None))
    indexes = [*ctx.infra_index.values(), ctx.shore_index, ctx.district_index]
    assert all(ix.flat.dtype == np.int32 for ix in indexes)
    assert all(len(term) == len(ix.a) for ix in indexes for term in ix.terms)  # one per segment
    assert sum(len(pickle.dumps(ix, protocol=5)) for ix in indexes) < 80e6


@pytest.mark.parametrize(("args", "code"), [(["--help"], 0), (["nonsense"], 2), (["check", "missing.csv", "--out", "o"], 2)])
def test_the_command_exits_with_its_status_and_runs_exit_handlers(tmp_path, args, code):
    """``main`` skips the object teardown at exit, not the exit handlers (temporary folders, logging)."""
    script = ("import atexit, sys; atexit.register(lambda: print('exit handler ran', flush=True))\n"
              "from wuzhong_geo.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == code, done.stderr
    assert "exit handler ran" in done.stdout
    assert "Traceback" not in done.stderr

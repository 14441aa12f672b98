"""results.gpkg written by a forked child process (outputs.gpkg.GpkgProcess) holds what the in-process writer
writes; the child's errors and its death reach the parent as errors that say what happened."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pyogrio.errors
import pytest

from wuzhong_geo.outputs import gpkg
from wuzhong_geo.outputs.table import ChunkData
from wuzhong_geo.pipeline import run_check

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "tests" / "data" / "sites" / "sites.geojson"  # points, lines, polygons: several tables
POINTS = ROOT / "data" / "samples" / "projects.csv"


def _chunks(source: Path, rows: int) -> list[tuple[ChunkData, ChunkData | None]]:
    """Checked results in chunks of ``rows``, the zone parts with the first."""
    result = run_check(source)
    sites = [result.sites.iloc[i:i + rows] for i in range(0, len(result.sites), rows)]
    parts = [ChunkData.of(result.zone_parts) if len(result.zone_parts) else None] + [None] * (len(sites) - 1)
    return [(ChunkData.of(s), p) for s, p in zip(sites, parts)]


@pytest.fixture(scope="module")
def chunks():
    """Points, lines and polygons (the first chunk has all three) with zone parts, in two chunks."""
    return _chunks(SITES, 3)


def _write(writer, chunks) -> None:
    for sites, parts in chunks:
        for layer, data in (("results", sites), ("zone_parts", parts)):
            if data is not None:
                writer.append(layer, data.table, data.sites.geometry.values, data.sites.crs, data.wkb)
    writer.close()


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0] if str(n) != "layer_styles"]
    return {n: pyogrio.read_dataframe(path, layer=n) for n in names}


@pytest.mark.parametrize("source, rows", [(SITES, 3), (SITES, 1), (POINTS, 10)])
def test_child_process_writes_what_this_process_writes(source, rows, tmp_path):
    """Also when the first chunk has no point (SITES by one row) and with rows without geometry (POINTS)."""
    chunks = _chunks(source, rows)
    child = gpkg.GpkgProcess(tmp_path / "child.gpkg")
    _write(child, chunks)
    _write(gpkg.GpkgWriter(tmp_path / "here.gpkg"), chunks)
    a, b = _tables(tmp_path / "child.gpkg"), _tables(tmp_path / "here.gpkg")
    assert sorted(a) == sorted(b) and len(a) >= 2  # results_points and another table at least
    for name in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[name]).drop(columns="geometry", errors="ignore"),
                                      pd.DataFrame(b[name]).drop(columns="geometry", errors="ignore"))
        if "geometry" in a[name]:
            assert a[name].geometry.geom_equals_exact(b[name].geometry, tolerance=0).all(), name
    styles = "SELECT f_table_name, styleName FROM layer_styles ORDER BY 1, 2"
    with sqlite3.connect(tmp_path / "child.gpkg") as x, sqlite3.connect(tmp_path / "here.gpkg") as y:
        assert x.execute(styles).fetchall() == y.execute(styles).fetchall() != []
    assert child.cpu_seconds > 0  # the child's CPU time, for the run's timing
    with sqlite3.connect(tmp_path / "child.gpkg") as con:  # the streamed table has its spatial index
        assert con.execute("SELECT count(*) FROM rtree_results_points_geom").fetchone()[0] == len(a["results_points"])


def test_writer_forks_only_when_no_other_thread_runs(tmp_path):
    # in a new interpreter: a test process may hold threads other tests left (pytest's, a server's)
    script = (
        "import sys, threading\n"
        "from wuzhong_geo.outputs import gpkg\n"
        "from wuzhong_geo.pipeline import run\n"
        f"first = gpkg.open_writer({str(tmp_path / 'a.gpkg')!r})\n"
        "print(type(first).__name__)\n"
        "first.abort()\n"
        f"summary = run({str(POINTS)!r}, {str(tmp_path / 'out')!r}, formats='gpkg', progress=False)\n"
        "print(summary['timing_s']['gpkg_cpu'] > 0)\n"
        "release = threading.Event()\n"
        "other = threading.Thread(target=release.wait)\n"
        "other.start()\n"
        f"print(type(gpkg.open_writer({str(tmp_path / 'b.gpkg')!r})).__name__)\n"
        "release.set()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["GpkgProcess", "True", "GpkgWriter"]
    # the child's CPU time is counted in the run's timing; its file holds every located row
    assert len(pyogrio.read_dataframe(tmp_path / "out" / "results.gpkg", layer="results_points")) == 39


def test_child_error_is_raised_in_the_parent_as_here(chunks, tmp_path):
    errors = []
    for writer in (gpkg.GpkgProcess, gpkg.GpkgWriter):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the type is compared below
            _write(writer(tmp_path / "missing" / f"{writer.__name__}.gpkg"), chunks)
        errors.append(caught.value)
    assert type(errors[0]) is type(errors[1])
    assert str(errors[0]).replace("GpkgProcess", "") == str(errors[1]).replace("GpkgWriter", "")


def test_a_child_that_dies_is_an_oserror_that_says_so(chunks, tmp_path):
    writer = gpkg.GpkgProcess(tmp_path / "r.gpkg")
    writer._process.kill()
    writer._process.join()
    with pytest.raises(OSError, match="writer process died"):
        _write(writer, chunks)


class _Odd(Exception):
    def __init__(self, a, b):  # _Odd(text) fails: the parent cannot rebuild it
        super().__init__(f"{a} {b}")


def test_an_error_whose_class_cannot_be_rebuilt_arrives_as_its_text():
    error = gpkg._rebuilt(gpkg._described(_Odd("disk", "full")))
    assert isinstance(error, OSError) and str(error) == "_Odd: disk full"
    error = gpkg._rebuilt(gpkg._described(pyogrio.errors.DataSourceError("no such file")))
    assert type(error) is pyogrio.errors.DataSourceError and str(error) == "no such file"

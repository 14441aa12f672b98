"""``wuzhong-geo all`` end to end: progress on a terminal only, GeoPackages that Debian's GDAL reads cleanly."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from wuzhong_geo.maps.standard import STANDARD_MAPS
from wuzhong_geo.plan import towns_table
from wuzhong_geo.settings import base_gpkg

pytestmark = pytest.mark.slow

SITES = Path(__file__).parent / "data" / "sites"
#: Low resolution: these tests check what is written and shown, not how the maps look.
ALL = ["all", "--out", "out", "--maps", "maps", "--dpi", "50"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from wuzhong_geo.cli import main; main()", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="120")
    # the tests run the package they import, also when it is not installed (PYTHONPATH checkouts)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    """Run ``all`` with stdout and stderr piped (as in CI or a log file)."""
    cwd = tmp_path_factory.mktemp("all_piped")
    proc = subprocess.run(_cli(*ALL), cwd=cwd, env=_env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return cwd, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def on_terminal(tmp_path_factory):
    """Run ``all`` with stderr on a pseudo-terminal, as a user at a shell sees it."""
    cwd = tmp_path_factory.mktemp("all_tty")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    with open(cwd / "stdout.txt", "w") as stdout:
        proc = subprocess.Popen(_cli(*ALL), cwd=cwd, env=_env(), stdout=stdout, stderr=slave,
                                stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.wait(timeout=1800) == 0, terminal[-3000:]
    return terminal, (cwd / "stdout.txt").read_text(encoding="utf-8")


def test_progress_per_map_on_a_terminal(on_terminal):
    terminal, stdout = on_terminal
    n_maps, n_towns = len(STANDARD_MAPS), len(towns_table())
    assert "标准图集 maps" in terminal and f"{n_maps}/{n_maps}" in terminal
    assert "分镇图集 atlas" in terminal and f"{n_towns}/{n_towns}" in terminal
    assert STANDARD_MAPS[-1].slug in terminal  # the bar names the map being drawn
    assert "✓ 标准图集 standard maps" in stdout and "✓ 分镇图集 atlas" in stdout


def test_quiet_when_piped(piped):
    _, stdout, stderr = piped
    for stream in (stdout, stderr):
        assert "%|" not in stream and "it/s" not in stream and "map/s" not in stream
    assert "✓ 标准图集 standard maps" in stdout and "✓ 分镇图集 atlas" in stdout


def test_outputs_go_where_the_readme_says(piped):
    cwd, _, _ = piped
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for path in ["out/layers/wuzhong_layers.gpkg", "out/check/results.gpkg", "out/indicators",
                 "out/town_indicators", "maps/wuzhong.html", "maps/atlas.pdf"]:
        assert (cwd / path).exists(), path
        assert path in readme, f"README does not say where {path} goes"
    assert not list(cwd.glob("maps/*.gpkg"))
    assert not (cwd / "gmt.history").exists()


def _ogrinfo(path: Path) -> str:
    proc = subprocess.run(["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs apt-get install gdal-bin (CI installs it)")
def test_every_geopackage_opens_cleanly_in_debian_gdal(piped, tmp_path):
    """ogrinfo (GDAL 3.6 on Debian 12) prints no warning and no Unknown geometry type for any output.

    Styles: every spatial table has a default QGIS style, except in the base geometry (not a map layer).
    """
    cwd, _, _ = piped
    mixed = tmp_path / "mixed"  # a check of points, lines and polygons, the hardest case for typing
    proc = subprocess.run(_cli("check", str(SITES / "sites.geojson"), "--out", str(mixed), "--no-progress"),
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(cwd.rglob("*.gpkg")) + sorted(mixed.rglob("*.gpkg"))
    assert {p.name for p in files} == {"wuzhong_layers.gpkg", "results.gpkg", "indicators_by_town.gpkg"}
    assert len(files) == 4
    files.append(base_gpkg())  # the bundled base geometry, written by the same module
    for path in files:
        text = _ogrinfo(path)
        assert "Warning" not in text and "ERROR" not in text, f"{path}:\n{text}"
        assert "Unknown" not in text, f"{path} has a table of geometry type Unknown:\n{text}"
        with sqlite3.connect(path) as con:
            assert con.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2
            if path == base_gpkg():
                continue
            styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
            spatial = {r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns")}
        assert spatial <= styled, f"{path}: tables without a QGIS style: {spatial - styled}"
    mixed_tables = {line.split(":")[1].split("(")[0].strip()
                    for line in _ogrinfo(mixed / "results.gpkg").splitlines() if line.startswith("Layer name:")}
    assert {"results_points", "results_lines", "results_polygons"} <= mixed_tables

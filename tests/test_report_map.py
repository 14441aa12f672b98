"""The check report's overview map: a cached base raster, the sites drawn by Pillow (no matplotlib when warm)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from wuzhong_geo import coords, layers
from wuzhong_geo.outputs import report_map
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.style import SITE_STATUS_COLOURS

# the child runs a check in-process (not through cli.main, whose fast exit would skip the last print)
CHILD = (
    "import sys, wuzhong_geo.cli\n"
    "from wuzhong_geo.cli.app import app\n"
    "app(['check', sys.argv[1], '--out', sys.argv[2], '--no-progress', '--formats', 'csv,html'], standalone_mode=False)\n"
    "print('matplotlib' in sys.modules)\n"
)


def _decode(uri: str) -> np.ndarray:
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size == report_map.SIZE
    return np.asarray(image.convert("RGB"))


def _overview(html: str) -> np.ndarray:
    return _decode(re.search(r"<img alt='项目位置总览' src='(data:image/png;base64,[^']+)'>", html).group(1))


def _pixel(lon: float, lat: float) -> tuple[int, int]:
    x, y = coords.transformer(STORAGE_CRS, ANALYSIS_CRS).transform(np.array([lon]), np.array([lat]))
    col, row = report_map.base_map(np.asarray(x), np.asarray(y)).to_pixels(x, y)
    return int(np.floor(col[0])), int(np.floor(row[0]))


def _where(image: np.ndarray, colour: str) -> np.ndarray:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return np.argwhere((image == rgb).all(axis=2))  # (row, col) of every pixel of that colour


def _points(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["row_id", "status", "flag_level", "lon", "lat"])


def test_a_site_is_drawn_in_its_status_colour_at_its_pixel():
    towns = layers.towns().set_index("short_name")
    site = towns.geometry["长桥"].representative_point()
    empty = np.array([], dtype=object)
    bare = _decode(report_map.overview_png(_points([]), empty, number_flagged=False))
    for status, flag, colour in (("ok", "", "ok"), ("ok", "warning", "flagged"), ("in_taihu_water", "", "in_taihu_water")):
        assert len(_where(bare, SITE_STATUS_COLOURS[colour])) == 0  # the base has no pixel of that colour
        image = _decode(report_map.overview_png(_points([(1, status, flag, site.x, site.y)]), empty, False))
        col, row = _pixel(site.x, site.y)
        assert tuple(image[row, col]) == tuple(int(SITE_STATUS_COLOURS[colour][i:i + 2], 16) for i in (1, 3, 5))
        found = _where(image, SITE_STATUS_COLOURS[colour])
        assert 5 <= len(found) <= 40  # a small disc ...
        assert np.abs(found - [row, col]).max() <= 3  # ... there, and nowhere else
        changed = np.argwhere((image != bare).any(axis=2))
        assert np.abs(changed - [row, col]).max() <= 4  # the site's edge included, nothing else moved


def test_shapes_and_numbers_are_drawn():
    towns = layers.towns().set_index("short_name")
    yuexi = towns.geometry["越溪"]
    point = yuexi.representative_point()
    empty = np.array([], dtype=object)
    plain = _decode(report_map.overview_png(_points([(7, "ok", "note", point.x, point.y)]), empty, False))
    numbered = _decode(report_map.overview_png(_points([(7, "ok", "note", point.x, point.y)]), empty, True))
    col, row = _pixel(point.x, point.y)
    text = np.argwhere((numbered != plain).any(axis=2))
    assert len(text) > 10 and (text[:, 1] > col).all() and (text[:, 0] < row + 2).all()  # up and right of it
    outlined = _decode(report_map.overview_png(_points([]), np.array([yuexi]), False))
    dark = _where(outlined, "#111111")
    assert len(dark) > 100  # the town's outline as a line of the shape colour


def test_numbers_stay_on_the_map_and_out_of_the_note_strip():
    """A flagged site at the right edge is numbered on its left; one just below the note, under it."""
    empty = np.array([], dtype=object)
    minx, miny, maxx, maxy = layers.district().to_crs(ANALYSIS_CRS).total_bounds
    base = report_map.base_map(np.array([minx, maxx]), np.array([miny, maxy]))
    to_lonlat = coords.transformer(ANALYSIS_CRS, STORAGE_CRS)
    width, _ = report_map.SIZE
    for col, row in ((width - 6, 300), (500, report_map.NOTE_PX + 4)):
        x = base.minx + (col + 0.5) * base.metres_per_pixel
        y = base.maxy - (row + 0.5) * base.metres_per_pixel
        lon, lat = (float(v[0]) for v in to_lonlat.transform(np.array([x]), np.array([y])))
        sites = _points([(1234567, "ok", "warning", lon, lat)])
        plain = _decode(report_map.overview_png(sites, empty, False))
        numbered = _decode(report_map.overview_png(sites, empty, True))
        text = np.argwhere((numbered != plain).any(axis=2))
        assert len(text) > 20
        assert (text[:, 0] >= report_map.NOTE_PX).all()  # nothing written into the note's strip
        if col > width / 2:
            assert (text[:, 1] < col).all() and text[:, 1].min() < col - 30  # the whole number, on the left
        else:
            assert (text[:, 0] > row).all()  # below the site


def test_warm_run_needs_no_matplotlib_and_draws_the_same_map(tmp_path, monkeypatch):
    rng = np.random.default_rng(13)
    minx, miny, maxx, maxy = layers.district().total_bounds
    frame = pd.DataFrame({"name": [f"p{i}" for i in range(400)], "lon": rng.uniform(minx, maxx, 400),
                          "lat": rng.uniform(miny, maxy, 400)})
    source = tmp_path / "points.csv"
    frame.to_csv(source, index=False)
    env = {**os.environ, "WUZHONG_GEO_CACHE": str(tmp_path / "cache")}

    def run(out: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", CHILD, str(source), str(tmp_path / out)], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip().splitlines()[-1], (tmp_path / out / "report.html").read_text(encoding="utf-8")

    cold_mpl, cold = run("cold")
    assert cold_mpl == "True"  # the cold run drew the base with matplotlib
    assert len(list((tmp_path / "cache").glob("report_overview-*.pkl"))) == 1
    warm_mpl, warm = run("warm")
    assert warm_mpl == "False"  # more than 12 flagged: no per-site maps, and the base came from the cache
    assert len(list((tmp_path / "cache").glob("report_overview-*.pkl"))) == 1
    image = _overview(warm)
    assert (image == _overview(cold)).all()

    summary = json.loads((tmp_path / "warm" / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]["status"]
    legend = {k: int(v.replace(",", "")) for k, v in re.findall(r"data-key='(\w+)'>([\d,]+)<", warm)}
    assert summary["counts"]["flag_level"].get("", 0) < 400 - 12  # the premise: no per-site maps
    assert legend.get("ok", 0) + legend.get("flagged", 0) == counts["ok"]
    assert {k: v for k, v in legend.items() if k not in ("ok", "flagged")} == {
        k: v for k, v in counts.items() if k != "ok" and v}
    assert legend["flagged"] == sum(v for k, v in summary["counts"]["flag_level"].items() if k)

    # each site far from the others has its class's colour at its pixel (this process reads the same cache)
    monkeypatch.setenv("WUZHONG_GEO_CACHE", str(tmp_path / "cache"))
    results = pd.read_csv(tmp_path / "warm" / "results.csv", keep_default_na=False, dtype=str)
    keys = report_map.site_keys(results["status"], results["flag_level"])
    cells = np.array([_pixel(float(lon), float(lat)) for lon, lat in zip(results["wgs84_lon"], results["wgs84_lat"])])
    checked = 0
    for i, (col, row) in enumerate(cells):
        if np.abs(np.delete(cells, i, axis=0) - [col, row]).max(axis=1).min() > 30:
            assert tuple(image[row, col]) == tuple(int(SITE_STATUS_COLOURS[keys[i]][j:j + 2], 16) for j in (1, 3, 5))
            checked += 1
    assert checked >= 5


def test_official_boundaries_get_their_own_base(tmp_path, monkeypatch):
    monkeypatch.setenv("WUZHONG_GEO_CACHE", str(tmp_path / "cache"))
    x, y = np.array([520000.0]), np.array([3450000.0])
    schematic = report_map.base_map(x, y)
    official = tmp_path / "official.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(official)
    layers.use_boundaries(official)
    try:
        own = report_map.base_map(x, y)
    finally:
        layers.use_boundaries(None)
    assert len(list((tmp_path / "cache").glob("report_overview-*.pkl"))) == 2
    assert own.png != schematic.png  # the note on the map names the official file
    assert report_map.base_map(x, y).png == schematic.png  # back to the schematic entry


@pytest.mark.parametrize("far", [False, True])
def test_extent_is_whole_kilometres_and_holds_near_sites(far):
    minx, miny, maxx, maxy = layers.district().to_crs(ANALYSIS_CRS).total_bounds
    x = np.array([maxx + (50000 if far else 15000)])
    y = np.array([(miny + maxy) / 2])
    base = report_map.base_map(x, y)
    width = base.metres_per_pixel * report_map.SIZE[0]
    assert base.metres_per_pixel == int(base.metres_per_pixel)
    assert base.minx < minx - report_map.PAD_M + 1 and base.maxy > maxy + report_map.PAD_M - 1
    assert (base.minx + width > x[0]) == (not far)  # a site 15 km out widens the map; 50 km out does not


def test_the_base_raster_matches_its_pixel_grid():
    """The district edge on the cached base lies where the grid puts the district's boundary."""
    district = layers.district().to_crs(ANALYSIS_CRS).geometry.iloc[0]
    edge = shapely.get_parts(district.boundary)
    samples = shapely.line_interpolate_point(edge[np.argmax(shapely.length(edge))], np.linspace(0, 1, 200),
                                             normalized=True)
    xy = shapely.get_coordinates(samples)
    base = report_map.base_map(xy[:, 0], xy[:, 1])
    image = np.asarray(Image.open(io.BytesIO(base.png)).convert("L")).astype(int)
    col, row = base.to_pixels(xy[:, 0], xy[:, 1])
    col, row = np.floor(col).astype(int), np.floor(row).astype(int)
    on_line = image[row, col] < 110
    assert on_line.mean() > 0.9  # the 0.9 pt dark line at the very pixel the grid gives (97 % measured)
    for shift in (-2, 2):
        assert (image[row, col + shift] < 110).mean() < 0.5  # not two pixels beside it (22 % measured)


def test_the_note_has_a_strip_of_its_own():
    """Sites are drawn below the boundary note and inside the margins, never under the note or the bar."""
    minx, miny, maxx, maxy = layers.district().to_crs(ANALYSIS_CRS).total_bounds
    near = report_map.NEAR_M - 1
    corners = np.array([minx, maxx]), np.array([maxy, miny])
    far = np.array([minx - near, maxx + near]), np.array([miny - near, maxy + near])  # sites widen the map
    for x, y in (corners, far):
        base = report_map.base_map(x, y)
        col, row = base.to_pixels(x, y)
        assert (row >= report_map.NOTE_PX + 15).all() and (row <= report_map.SIZE[1] - 15).all()
        assert (col >= 15).all() and (col <= report_map.SIZE[0] - 15).all()
        image = np.asarray(Image.open(io.BytesIO(base.png)).convert("L"))
        assert (image[:report_map.NOTE_PX, :400] < 128).sum() > 300  # the note's text is in the strip

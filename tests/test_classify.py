"""classify_points equals plain shapely predicates, on random points and exactly on boundaries."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from wuzhong_geo import classify, layers
from wuzhong_geo.classify import COLUMNS, STATUSES, classify_points, unit_polygons
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS, CGCS2000_GEOGRAPHIC
from wuzhong_geo.style import ZONES

# --- the reference: plain shapely predicates on the published layers, point by point rule -------

def reference_frame(lon, lat) -> pd.DataFrame:
    """The documented rule, written independently: towns by code, then Taihu; zone of the town."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    towns = layers.towns().sort_values("code").reset_index(drop=True)
    parts = layers.town_zone_parts()
    order = {zone: i for i, zone in enumerate(ZONES)}
    parts = parts.assign(rank=parts["zone"].map(order)).sort_values(["code", "rank"])
    taihu = layers.taihu().geometry.union_all()
    points = shapely.points(lon, lat)
    out = pd.DataFrame({c: pd.Series([None] * len(lon), dtype=object) for c in COLUMNS})
    out["status"] = "outside_district"
    town_of = np.full(len(lon), -1)
    for i, geom in enumerate(towns.geometry):  # code order: the first town wins a shared border
        town_of[(town_of == -1) & shapely.intersects(geom, points)] = i
    water = (town_of == -1) & shapely.intersects(taihu, points)
    out.loc[water, "status"] = "in_taihu_water"
    for i, town in towns.iterrows():
        sel = np.flatnonzero(town_of == i)
        if sel.size == 0:
            continue
        out.loc[sel, ["status", "code", "name", "management_zone", "subregion"]] = [
            "ok", town["code"], town["name"], town["management_zone"], town["subregion"]]
        own = parts[parts["code"] == town["code"]]
        zone = np.full(sel.size, None, dtype=object)
        for part in own.itertuples():
            hit = (zone == None) & shapely.intersects(part.geometry, points[sel])
            zone[hit] = part.zone
        rest = np.flatnonzero(zone == None)
        if rest.size:  # a seam between the town's border and its parts: the nearest part
            dist = np.stack([shapely.distance(g, points[sel[rest]]) for g in own.geometry])
            zone[rest] = own["zone"].to_numpy()[dist.argmin(axis=0)]
        out.loc[sel, "functional_zone"] = zone
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    out.loc[bad, "status"] = "invalid_coordinates"
    out.loc[bad, list(COLUMNS[1:])] = None
    return out


def as_plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals -> objects with None for missing, for an exact comparison."""
    plain = frame.astype(object)
    return plain.where(plain.notna(), None)


def differing_rows(got: pd.DataFrame, expected: pd.DataFrame) -> np.ndarray:
    got, expected = as_plain(got), as_plain(expected)
    diff = (got != expected) & ~(got.isna() & expected.isna())
    return diff.any(axis=1).to_numpy()


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    rows = differing_rows(got, expected)
    assert not rows.any(), (f"{rows.sum()} rows differ, e.g.\n{got[rows].head()}\n"
                            f"{expected[rows].head()}")


def fast_frame(lookup, lon, lat) -> pd.DataFrame:
    labels = classify._classify_chunk(lookup, np.asarray(lon, float), np.asarray(lat, float), None, True)
    return lookup.frame(labels)


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    layers.use_boundaries(None)
    layers.use_zone_rules(None)
    return unit_polygons()


@pytest.fixture(scope="module")
def random_points(units) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20210101)
    west, south, east, north = units.total_bounds
    n = 200_000
    return rng.uniform(west - 0.02, east + 0.02, n), rng.uniform(south - 0.02, north + 0.02, n)


@pytest.fixture(scope="module")
def boundary_points(units) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (exactly on boundaries), edge midpoints, 1e-9° and 1e-13° nudges, grid lines."""
    xy = shapely.get_coordinates(units.geometry.values)
    edges = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(units.geometry.values)))
    mid = (edges[:-1] + edges[1:]) / 2
    pieces = [xy, mid]
    for eps in (1e-9, 1e-13):
        for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]:
            pieces.append(xy + eps * np.array([dx, dy]))
    lookup = classify._lookup(units)
    rng = np.random.default_rng(7)
    n = 20_000
    k = rng.integers(0, lookup.nx, n)
    m = rng.integers(0, lookup.ny, n)
    on_x = lookup.x0 + k * lookup.cell
    on_y = lookup.y1 - m * lookup.cell
    # Cell edges and corners next to real boundary vertices, where a wrong cell would show.
    vk = np.floor((xy[:, 0] - lookup.x0) / lookup.cell)
    vm = np.floor((lookup.y1 - xy[:, 1]) / lookup.cell)
    near_x, near_y = lookup.x0 + vk * lookup.cell, lookup.y1 - vm * lookup.cell
    pieces += [
        np.column_stack([on_x, rng.uniform(lookup.y1 - lookup.ny * lookup.cell, lookup.y1, n)]),
        np.column_stack([rng.uniform(lookup.x0, lookup.x0 + lookup.nx * lookup.cell, n), on_y]),
        np.column_stack([on_x, on_y]),
        np.column_stack([near_x, near_y]), np.column_stack([near_x, xy[:, 1]]),
        np.column_stack([xy[:, 0], near_y]),
    ]
    pts = np.concatenate(pieces)
    return pts[:, 0], pts[:, 1]


@pytest.fixture(scope="module")
def expected_random(random_points) -> pd.DataFrame:
    return reference_frame(*random_points)


@pytest.fixture(scope="module")
def expected_boundary(boundary_points) -> pd.DataFrame:
    return reference_frame(*boundary_points)


# --- equality with the reference -------------------------------------------------------------

def test_random_points_match_shapely_reference(random_points, expected_random):
    got = classify_points(*random_points)
    assert_same(got, expected_random)
    counts = got["status"].value_counts()
    assert counts["ok"] > 10_000 and counts["in_taihu_water"] > 10_000 and counts["outside_district"] > 10_000


def test_points_exactly_on_boundaries_match_shapely_reference(units, boundary_points, expected_boundary):
    lon, lat = boundary_points
    # The set tests the tie rule only if many points lie on two towns (or town and lake) at once.
    towns_and_lake = units.geometry.values[units["kind"].to_numpy() != "zone_part"]
    pi, _ = shapely.STRtree(towns_and_lake).query(shapely.points(lon, lat), predicate="intersects")
    assert (np.bincount(pi, minlength=len(lon)) > 1).sum() > 500
    assert_same(classify_points(lon, lat), expected_boundary)


def test_shared_vertices_go_to_the_lowest_code_and_the_shore_to_land(units):
    towns = layers.towns()
    xy = np.unique(shapely.get_coordinates(towns.geometry.values), axis=0)
    pts = shapely.points(xy)
    pi, ti = shapely.STRtree(towns.geometry.values).query(pts, predicate="intersects")
    per_point = pd.DataFrame({"p": pi, "code": towns["code"].to_numpy()[ti]}).groupby("p")["code"]
    shared = per_point.nunique()
    shared = shared[shared > 1].index.to_numpy()
    assert len(shared) > 20
    got = classify_points(xy[shared, 0], xy[shared, 1])
    assert (got["code"].astype(str).to_numpy() == per_point.min().loc[shared].to_numpy()).all()

    shore = xy[shapely.intersects(layers.taihu().geometry.union_all(), pts)]
    assert len(shore) > 20
    assert (classify_points(shore[:, 0], shore[:, 1])["status"] == "ok").all()

    lake = layers.taihu().geometry.union_all()
    outline = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(lake)))
    assert (classify_points(outline[:, 0], outline[:, 1])["status"] != "outside_district").all()


def test_seams_between_a_town_and_its_zone_parts_keep_town_and_zone(units):
    """Points in a town but in none of its parts (cm seams of the split) stay in the town."""
    towns = layers.towns()
    parts = layers.town_zone_parts()
    seams = []
    for town in towns.itertuples():
        gap = town.geometry.difference(parts[parts["code"] == town.code].geometry.union_all())
        seams += [(town.code, p) for p in shapely.get_parts(gap) if p.area > 0]
    if not seams:
        pytest.skip("the zone parts tile the towns exactly: no seams to test")
    codes = [c for c, _ in seams]
    pts = shapely.point_on_surface([p for _, p in seams])
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    got = classify_points(lon, lat)
    assert_same(got, reference_frame(lon, lat))
    inside = shapely.intersects(towns.set_index("code").geometry.loc[codes].to_numpy(), pts)
    assert inside.sum() > 5
    assert (got.loc[inside, "status"] == "ok").all()
    assert got.loc[inside, "functional_zone"].notna().all()


def test_agrees_with_geopandas_sjoin_on_the_published_layers(random_points):
    lon, lat = (a[:50_000] for a in random_points)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    towns = gpd.sjoin(pts, layers.towns()[["code", "geometry"]], predicate="intersects")
    towns = towns[~towns.index.duplicated(keep=False)]
    zones = gpd.sjoin(pts, layers.town_zone_parts()[["code", "zone", "geometry"]], predicate="intersects")
    zones = zones[~zones.index.duplicated(keep=False)]
    water = gpd.sjoin(pts, layers.taihu()[["geometry"]], predicate="intersects").index
    got = classify_points(lon, lat)
    assert len(towns) > 5_000
    assert (got.loc[towns.index, "code"].astype(str) == towns["code"]).all()
    zones = zones[zones["code"].to_numpy() == got.loc[zones.index, "code"].astype(str).to_numpy()]
    assert (got.loc[zones.index, "functional_zone"].astype(str) == zones["zone"]).all()
    water = water.difference(towns.index)
    assert (got.loc[water, "status"] == "in_taihu_water").all()
    rest = got.index.difference(towns.index).difference(water)
    assert (got.loc[rest, "status"] == "outside_district").all()


# --- the comparison can fail: broken lookups are caught ----------------------------------------

def test_a_lookup_without_exact_tests_is_caught(units, boundary_points, expected_boundary):
    lookup = classify._lookup(units)
    lon, lat = boundary_points
    assert not differing_rows(fast_frame(lookup, lon, lat), expected_boundary).any()
    # Bug 1: boundary cells answered from the grid (the label at the cell centre), no exact test.
    grid = lookup.grid.copy()
    rows, cols = np.divmod(lookup.mixed_flat, lookup.nx)
    centre_x = lookup.x0 + (cols + 0.5) * lookup.cell
    centre_y = lookup.y1 - (rows + 0.5) * lookup.cell
    grid[rows, cols] = classify._exact(lookup, centre_x, centre_y, None)[0]
    broken = dataclasses.replace(lookup, grid=grid)
    assert differing_rows(fast_frame(broken, lon, lat), expected_boundary).sum() > 100
    # Bug 2: too few candidates in boundary cells (only the first polygon reaching the cell).
    cand = np.zeros_like(lookup.candidates)
    cand[np.arange(len(cand)), lookup.candidates.argmax(axis=1)] = True
    broken = dataclasses.replace(lookup, candidates=cand)
    assert differing_rows(fast_frame(broken, lon, lat), expected_boundary).sum() > 100


def test_a_shifted_grid_is_caught(units, random_points, expected_random):
    lookup = classify._lookup(units)
    broken = dataclasses.replace(lookup, x0=lookup.x0 + lookup.cell)
    assert differing_rows(fast_frame(broken, *random_points), expected_random).sum() > 10


# --- contract -------------------------------------------------------------------------------------

def test_contract_columns_order_and_dtypes():
    frame = classify_points([120.5126, 120.20, 121.5], [31.2598, 31.20, 31.0])
    assert list(frame.columns) == list(COLUMNS)
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == 3
    assert list(frame["status"].cat.categories) == list(STATUSES)
    assert list(frame["status"]) == ["ok", "in_taihu_water", "outside_district"]
    assert frame.loc[0, "code"] == "320506103" and frame.loc[0, "name"] == "木渎镇"
    assert frame.loc[0, "management_zone"] == "区直属" and frame.loc[0, "subregion"] == "西部片区"
    assert frame.loc[0, "functional_zone"] in {"先进制造轴", "生态文旅带"}
    assert frame.loc[1:, list(COLUMNS[1:])].isna().all().all()


def test_invalid_coordinates():
    lon = [np.nan, np.inf, 200.0, 120.5126, -np.inf, 120.5126, None]
    lat = [31.2, 31.2, 31.2, 95.0, 31.2, 31.2598, 31.2]
    frame = classify_points(np.array(lon, dtype=float), lat)
    assert list(frame["status"]) == ["invalid_coordinates"] * 5 + ["ok", "invalid_coordinates"]
    assert frame.loc[frame["status"] == "invalid_coordinates", "code"].isna().all()


def test_empty_and_scalar_input():
    empty = classify_points([], [])
    assert list(empty.columns) == list(COLUMNS) and len(empty) == 0
    assert list(classify_points(120.5126, 31.2598)["code"]) == ["320506103"]


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="lon has 2 values but lat has 1"):
        classify_points([1, 2], [3])
    with pytest.raises(InputError, match="unknown CRS"):
        classify_points([120.5], [31.2], crs="EPSG:999999")
    with pytest.raises(InputError, match="must be numbers"):
        classify_points(["abc"], [31.2])


def test_projected_and_cgcs2000_input(units, random_points):
    lon, lat = (a[:20_000] for a in random_points)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", ANALYSIS_CRS, always_xy=True).transform(lon, lat)
    back_lon, back_lat = pyproj.Transformer.from_crs(ANALYSIS_CRS, "EPSG:4326", always_xy=True).transform(x, y)
    assert_same(classify_points(x, y, crs=ANALYSIS_CRS), reference_frame(back_lon, back_lat))
    assert_same(classify_points(lon, lat, crs=CGCS2000_GEOGRAPHIC), classify_points(lon, lat))


def test_chunks_give_the_same_answer(monkeypatch, random_points):
    lon, lat = (a[:30_000] for a in random_points)
    whole = classify_points(lon, lat)
    monkeypatch.setattr(classify, "CHUNK", 7_001)
    assert_same(classify_points(lon, lat), whole)


def test_lookup_follows_official_boundaries(tmp_path):
    towns = layers.towns()[["code", "name", "geometry"]]
    a, b = "320506001", "320506009"  # 长桥 and 城南: both wholly 中心城市核, so no zone rule moves
    point = towns.loc[towns["code"] == a].geometry.iloc[0].representative_point()
    assert classify_points([point.x], [point.y])["code"].iloc[0] == a
    swapped = towns.copy()
    swapped["code"] = swapped["code"].replace({a: b, b: a})
    swapped["name"] = swapped["code"].map(towns.set_index("code")["name"])
    path = tmp_path / "official.gpkg"
    swapped.to_file(path)
    layers.use_boundaries(path)
    frame = classify_points([point.x], [point.y])
    assert frame["code"].iloc[0] == b and frame["name"].iloc[0] == "城南街道"
    layers.use_boundaries(None)
    assert classify_points([point.x], [point.y])["code"].iloc[0] == a


def test_lookup_is_built_once(units):
    assert classify._lookup(units) is classify._lookup(unit_polygons())


def test_lookup_follows_zone_rules(tmp_path):
    from shapely.geometry import box

    from wuzhong_geo.settings import plan_dir

    yuexi = layers.towns().set_index("code").geometry["320506003"]
    point = yuexi.intersection(box(120.565, 31.0, 120.585, 31.4)).representative_point()
    assert classify_points([point.x], [point.y])["functional_zone"].iloc[0] == "先进制造轴"
    text = (plan_dir() / "zone_split_rules.yaml").read_text(encoding="utf-8")
    moved = text.replace("[[120.590, 31.10], [120.590, 31.35]]", "[[120.560, 31.10], [120.560, 31.35]]")
    assert moved != text
    path = tmp_path / "rules.yaml"
    path.write_text(moved, encoding="utf-8")
    layers.use_zone_rules(path)
    assert classify_points([point.x], [point.y])["functional_zone"].iloc[0] == "中心城市核"
    layers.use_zone_rules(None)
    assert classify_points([point.x], [point.y])["functional_zone"].iloc[0] == "先进制造轴"


def test_lookup_comes_from_the_disk_cache_in_a_new_process(tmp_path):
    """A second process loads the lookup grid instead of building it; other boundaries get their own."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from wuzhong_geo import classify, layers\n"
        "def boom(*a): raise SystemExit('built again')\n"
        "if sys.argv[1] == 'cached': classify._build_lookup = boom\n"
        "if len(sys.argv) > 2: layers.use_boundaries(sys.argv[2])\n"
        "print(classify.classify_points([120.6], [31.26])['code'].iloc[0])\n"
    )
    env = {**os.environ, "WUZHONG_GEO_CACHE": str(tmp_path / "cache")}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    first = run("build")
    assert len(list((tmp_path / "cache").glob("classify-*.pkl"))) == 1
    assert run("cached") == first  # a new process: the grid comes from the cache, not a build
    official = tmp_path / "official.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(official)
    assert run("build", str(official)) == first
    assert len(list((tmp_path / "cache").glob("classify-*.pkl"))) == 2  # --boundaries: its own entry
    assert run("cached", str(official)) == first

"""Street networks and coverage, on tests/data/streets.osm (authored for the tests) and the bundled places.

Expected lengths come from pyproj.Geod on the fixture's own node coordinates, read here with
ElementTree, independently of osmnx. Nothing touches the internet.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from wuzhong_geo import coverage, layers, network
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS

runner = CliRunner()
GEOD = Geod(ellps="WGS84")
WALK_MS = 4.8 / 3.6


@pytest.fixture(scope="module")
def osm_file(request):
    from pathlib import Path

    return Path(request.config.rootpath) / "tests" / "data" / "streets.osm"


@pytest.fixture(scope="module")
def coords(osm_file):
    root = ET.parse(osm_file).getroot()
    return {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}


@pytest.fixture(scope="module")
def dist(coords):
    def along(*nodes: int) -> float:
        lons, lats = zip(*(coords[n] for n in nodes))
        return GEOD.line_length(lons, lats)
    return along


@pytest.fixture(scope="module")
def cache(tmp_path_factory, osm_file):
    out = tmp_path_factory.mktemp("osm")
    network.import_osm(osm_file, out)
    return out


@pytest.fixture(scope="module")
def walk(cache):
    return network.load_graph(cache, "walk")


@pytest.fixture(scope="module")
def drive(cache):
    return network.load_graph(cache, "drive")


def _point(lon, lat):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy([lon], [lat]), crs="EPSG:4326")


# ------------------------------------------------------------------ the cache


def test_fixture_lies_in_the_district(coords):
    district = layers.district().geometry.iloc[0]
    assert all(district.contains(shapely.Point(xy)) for xy in coords.values())


def test_import_writes_graphs_features_and_metadata(cache):
    meta = json.loads((cache / "metadata.json").read_text(encoding="utf-8"))
    assert meta["attribution"] == "© OpenStreetMap contributors, ODbL"
    assert meta["method"] == "import" and meta["date"]
    assert meta["input_file"]["name"] == "streets.osm" and len(meta["input_file"]["sha256"]) == 64
    assert set(meta["graphs"]) == {"walk", "drive"}
    assert (cache / "walk.graphml").exists() and (cache / "drive.graphml").exists()
    counts = meta["features"]
    assert (counts["culture"], counts["fitness"], counts["schools"], counts["parks"]) == (1, 1, 1, 1)
    assert counts["rail"] == counts["hospitals"] == 0
    library = network.load_features(cache, "culture")
    assert library["name"].tolist() == ["测试图书馆"] and library.crs.to_epsg() == 4326
    park = network.load_features(cache, "parks")
    assert park.geom_type.tolist() == ["Polygon"]


def test_ways_are_selected_per_mode(walk, drive):
    walk_edges = {(u, v) for u, v in walk.edges()}
    drive_edges = {(u, v) for u, v in drive.edges()}
    assert (100, 111) in walk_edges and (111, 100) in walk_edges  # the footway, both ways
    assert not any(100 in e for e in drive_edges)  # no footway in the drive network
    assert not ({300, 301} & set(walk.nodes))  # the river is not a street
    assert (101, 111) in drive_edges and (111, 101) not in drive_edges  # 中路 is one-way northbound
    assert (111, 101) in walk_edges  # … but walkable both ways
    assert walk.graph["crs"] == ANALYSIS_CRS or str(walk.graph["crs"]).endswith("4549")


def test_edge_lengths_are_geodesic(walk, dist):
    assert walk.edges[100, 111, 0]["length"] == pytest.approx(dist(100, 200, 111), abs=1e-6)
    assert walk.edges[100, 101, 0]["length"] == pytest.approx(dist(100, 101), abs=1e-6)
    # 101 -> 112 turns the corner at 102 (simplified into one edge with geometry)
    assert walk.edges[101, 112, 0]["length"] == pytest.approx(dist(101, 102, 112), abs=1e-6)


def test_drive_speeds(drive):
    assert drive.edges[110, 111, 0]["speed_kph"] == 40  # maxspeed tag
    assert drive.edges[101, 111, 0]["speed_kph"] == network.DRIVE_SPEEDS_KMH["residential"]


# ------------------------------------------------------------------ shortest paths


def test_walk_shortest_path_takes_the_footway(walk, dist):
    path, length = network.shortest_path(walk, 100, 121)
    assert path == [100, 111, 121]
    assert length == pytest.approx(dist(100, 200, 111) + dist(111, 121), abs=1e-6)


def test_drive_respects_one_way_streets(walk, drive, dist):
    _, north = network.shortest_path(drive, 101, 121)
    assert north == pytest.approx(dist(101, 111, 121), abs=1e-6)
    _, south = network.shortest_path(drive, 121, 101)
    assert south == pytest.approx(min(dist(121, 120, 110, 100, 101), dist(121, 122, 112, 102, 101)), abs=1e-6)
    _, on_foot = network.shortest_path(walk, 121, 101)
    assert on_foot == pytest.approx(dist(121, 111, 101), abs=1e-6)
    with pytest.raises(InputError):
        network.shortest_path(drive, 101, 999)


# ------------------------------------------------------------------ service areas


def test_walk_service_area_nodes_and_times(walk, coords, dist):
    facility = _point(*coords[100])
    five = network.service_area(walk, facility, 5, "walk")
    assert five.node_ids() == {100, 101, 110}  # 400 m: 381 m and 333 m away, not the 584 m footway
    ten = network.service_area(walk, facility, 10, "walk")
    assert ten.node_ids() == {100, 101, 110, 111}  # 800 m: 111 by the footway (584 m); 112 is 1095 m
    times = dict(zip(ten.nodes["node"], ten.nodes["time_s"]))
    assert times[100] == pytest.approx(0, abs=1e-3)
    assert times[101] == pytest.approx(dist(100, 101) / WALK_MS, abs=1e-3)
    assert times[111] == pytest.approx(dist(100, 200, 111) / WALK_MS, abs=1e-3)
    # the street 101 -> 102 -> 112 is reached for the 800 m left after walking to 101
    part = ten.edges[(ten.edges["u"] == 112) & (ten.edges["v"] == 101)]
    assert part["length_m"].sum() == pytest.approx(800 - dist(100, 101), abs=1e-3)
    poly = ten.to_frame().to_crs("EPSG:4326").geometry.iloc[0]
    assert poly.contains(shapely.Point(coords[111]))
    assert not poly.contains(shapely.Point(coords[122]))


def test_drive_service_area_direction_and_speeds(drive, coords, dist):
    facility = _point(*coords[111])
    to = network.service_area(drive, facility, 1, "drive", direction="to")
    assert to.node_ids() == {111, 110, 112, 101}  # 121 cannot drive south on 中路
    times = dict(zip(to.nodes["node"], to.nodes["time_s"]))
    assert times[110] == pytest.approx(dist(110, 111) / (40 / 3.6), abs=1e-3)
    assert times[101] == pytest.approx(dist(101, 111) / (25 / 3.6), abs=1e-3)
    away = network.service_area(drive, facility, 1, "drive", direction="from")
    assert away.node_ids() == {111, 110, 112, 121}


def test_facility_off_the_street_walks_to_the_nearest_edge(walk, coords, dist, cache):
    library = network.load_features(cache, "culture")  # 22 m north-west of the corner node 122
    area = network.service_area(walk, library, 5, "walk")
    snap_m = area.facilities["snap_m"].iloc[0]
    foot = (coords[500][0], coords[122][1])  # its foot on 北街 (which runs along the latitude of 122)
    assert snap_m == pytest.approx(GEOD.inv(*coords[500], *foot)[2], abs=0.05)
    assert area.node_ids() == {121, 112}
    times = dict(zip(area.nodes["node"], area.nodes["time_s"]))
    to_121 = GEOD.inv(*foot, *coords[121])[2]
    assert times[121] == pytest.approx((snap_m + to_121) / WALK_MS, abs=0.5)


def test_fetch_writes_the_same_cache(monkeypatch, tmp_path, osm_file):
    import osmnx as ox

    calls = []

    def fake_graph(polygon, *, network_type, **kwargs):
        calls.append(network_type)
        return ox.graph_from_xml(osm_file, bidirectional=network_type == "walk", retain_all=True)

    monkeypatch.setattr(ox, "graph_from_polygon", fake_graph)
    monkeypatch.setattr(ox, "features_from_polygon", lambda polygon, tags: ox.features_from_xml(osm_file, tags=tags))
    meta = network.fetch(tmp_path)
    assert calls == ["walk", "drive"]
    saved = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert saved["method"] == "fetch" and saved["attribution"] == network.ATTRIBUTION
    assert saved["date"] == meta["date"] and "Overpass" in saved["source"]
    assert network.load_graph(tmp_path, "walk").number_of_nodes() > 0


def test_import_rejects_missing_and_non_osm_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        network.import_osm(tmp_path / "none.osm", tmp_path)
    (tmp_path / "x.pbf").write_bytes(b"")
    with pytest.raises(InputError, match="OSM XML"):
        network.import_osm(tmp_path / "x.pbf", tmp_path)
    (tmp_path / "broken.osm").write_text("<osm><node id='1'></osm>", encoding="utf-8")
    with pytest.raises(InputError, match="as OSM XML|not valid OSM XML"):
        network.import_osm(tmp_path / "broken.osm", tmp_path / "out")
    with pytest.raises(InputError, match="osm import"):
        network.load_graph(tmp_path / "empty", "walk")


# ------------------------------------------------------------------ coverage


def _disc_area(radius: float) -> float:
    n = 4 * coverage.QUAD_SEGS  # shapely's circle is a regular polygon with 4 * quad_segs sides
    return 0.5 * n * radius**2 * math.sin(2 * math.pi / n)


@pytest.fixture(scope="module")
def land():
    return coverage.town_land()


def _interior_place(land, radius):
    """A bundled place whose circle lies inside one town's land, far from every other place."""
    places = layers.places().to_crs(ANALYSIS_CRS)
    for _, place in places.iterrows():
        home = land[land.contains(place.geometry)]
        if len(home) == 1 and home.geometry.iloc[0].boundary.distance(place.geometry) > radius + 1:
            return place, home.iloc[0]
    pytest.fail("no bundled place lies 800 m inside a town")


def test_buffer_coverage_of_one_place_is_one_circle(land):
    place, town = _interior_place(land, 800)
    facilities = layers.places().loc[[place.name]]
    twice = pd.concat([facilities, facilities])  # the same place twice must not count twice
    for frame in (facilities, twice):
        result = coverage.coverage(frame, minutes=10, mode="walk", method="buffer")
        assert result.radius_m == 800
        table = result.towns.set_index("code")
        assert table.loc[town["code"], "covered_km2"] == pytest.approx(_disc_area(800) / 1e6, rel=1e-9)
        assert table.drop(index=town["code"])["covered_km2"].eq(0).all()
        assert table.loc[town["code"], "share"] == pytest.approx(_disc_area(800) / town.geometry.area, rel=1e-9)
        assert table.loc[town["code"], "facilities"] == len(frame)


def test_buffer_coverage_across_a_town_border_adds_up(land):
    # a point on the border of two land towns: the two covered parts add up to one circle
    a, b = land.iloc[0], land.iloc[1]
    border = a.geometry.intersection(b.geometry)
    assert not border.is_empty
    point = border.interpolate(0.5, normalized=True) if border.geom_type != "Point" else border
    radius = 200.0
    circle = point.buffer(radius, quad_segs=coverage.QUAD_SEGS)
    inside = land.geometry.union_all().intersection(circle).area
    facility = gpd.GeoDataFrame(geometry=[point], crs=ANALYSIS_CRS)
    result = coverage.coverage(facility, minutes=2.5, mode="walk", method="buffer")  # 200 m at 4.8 km/h
    assert result.radius_m == pytest.approx(radius)
    covered = result.towns.set_index("code")["covered_km2"]
    assert covered[a["code"]] > 0 and covered[b["code"]] > 0
    assert covered.sum() == pytest.approx(inside / 1e6, rel=1e-9)


def test_places_spec_and_bad_specs(tmp_path):
    museums = coverage.load_facilities("places:museum")
    assert len(museums) == (layers.places()["category"] == "museum").sum() > 0
    with pytest.raises(InputError, match="unknown place category"):
        coverage.load_facilities("places:castles")
    (tmp_path / "pts.csv").write_text("name,lon,lat\nA,120.6,31.25\n", encoding="utf-8")
    assert len(coverage.load_facilities(tmp_path / "pts.csv")) == 1
    (tmp_path / "bad.csv").write_text("name,x1,y1\nA,120.6,31.25\n", encoding="utf-8")
    with pytest.raises(InputError, match="lon and lat"):
        coverage.load_facilities(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="--method"):
        coverage.coverage("places", method="isochrone")


def test_network_coverage_matches_the_service_area(cache, walk):
    library = network.load_features(cache, "culture")
    area = network.service_area(walk, library, 10, "walk")
    result = coverage.coverage("osm:culture", cache_dir=cache, minutes=10, mode="walk", method="network")
    assert result.area.equals(area.polygon)
    xukou = result.towns.set_index("name").loc["胥口镇"]
    assert xukou["covered_km2"] == pytest.approx(area.polygon.area / 1e6, rel=1e-9)  # all inside 胥口镇
    assert result.towns["covered_km2"].sum() == pytest.approx(xukou["covered_km2"], rel=1e-12)


def test_cli_osm_import_then_coverage(tmp_path, osm_file):
    cache_dir = tmp_path / "osm"
    result = runner.invoke(app, ["osm", "import", str(osm_file), "--out", str(cache_dir)])
    assert result.exit_code == 0, result.output
    assert "OpenStreetMap" in result.output
    out = tmp_path / "cov"
    result = runner.invoke(app, ["coverage", "osm:fitness", "--method", "network", "--cache", str(cache_dir),
                                 "--minutes", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "coverage_towns.csv", encoding="utf-8-sig", dtype={"code": str})
    assert len(table) == 15 and table["code"].iloc[-1] == "320506"
    assert (out / "coverage_map.png").stat().st_size > 0
    assert {"service_area", "towns", "facilities"} <= {n for n, _ in __import__("pyogrio").list_layers(out / "coverage.gpkg")}


def test_cli_buffer_coverage_on_bundled_places(tmp_path):
    result = runner.invoke(app, ["coverage", "places:museum,sports", "--method", "buffer", "--no-map",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "coverage_towns.csv", encoding="utf-8-sig", dtype={"code": str})
    assert table["share"].between(0, 1).all()
    assert not (tmp_path / "coverage_map.png").exists()
    result = runner.invoke(app, ["coverage", "places", "--method", "network", "--cache", str(tmp_path / "none"),
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and "osm import" in result.output

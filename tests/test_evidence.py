"""Checks of data/build/evidence.csv: points whose township (or neighbour) a public source documents.

These tests look at the table alone (schema, codes, provenance, plausibility); whether the schematic
partition honours the evidence is tested with the build.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from wuzhong_geo import coords
from wuzhong_geo.settings import DISTRICT_BBOX

ROOT = Path(__file__).parents[1] / "data"
EVIDENCE = ROOT / "build" / "evidence.csv"

COLUMNS = [
    "evidence_id", "name", "kind", "town_code", "town_name", "outside_unit", "lon", "lat",
    "coord_flavour", "position_source", "position_method", "township_source", "confidence", "notes",
]
KINDS = {"seat", "community", "village", "metro_station", "school", "landmark", "outside"}
FLAVOURS = {"wgs84", "gcj02", "bd09", "cgcs2000"}
CONFIDENCE = {"high", "medium", "low"}
NEIGHBOURS = {"苏州工业园区", "姑苏区", "苏州高新区（虎丘区）", "吴江区", "相城区", "昆山市"}
# en Wikipedia carries this one coordinate on several Suzhou metro station pages (e.g. Yuexi,
# Suzhouwan North): a placeholder near the old city, never evidence for any station.
EN_WIKI_METRO_PLACEHOLDER = (120.622056, 31.306417)
# GeoNames 1898494 "Songling" (alternate names Wu-chiang, Wukiang: the old 吴江 county) sits 7.9 km ENE of
# the Wujiang seat (GeoNames 8328215), inside both public outlines of 吴中: not a position of 松陵.
GEONAMES_LEGACY_SONGLING = (120.71758, 31.1933)


@pytest.fixture(scope="module")
def evidence() -> pd.DataFrame:
    return pd.read_csv(EVIDENCE, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def towns() -> pd.DataFrame:
    return pd.read_csv(ROOT / "plan" / "towns.csv", dtype={"code": str}, encoding="utf-8")


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance in metres: plenty for points a few km apart."""
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000 * math.hypot(dx, math.radians(lat2 - lat1))


def test_columns_and_ids(evidence):
    assert list(evidence.columns) == COLUMNS
    assert evidence["evidence_id"].is_unique
    assert (evidence["evidence_id"].str.fullmatch(r"[a-z0-9][a-z0-9\-]*")).all()
    assert (evidence["name"] != "").all()


def test_vocabularies(evidence):
    assert set(evidence["kind"]) <= KINDS
    assert set(evidence["coord_flavour"]) <= FLAVOURS
    assert set(evidence["confidence"]) <= CONFIDENCE


def test_town_codes_exist_and_match_names(evidence, towns):
    inside = evidence[evidence["kind"] != "outside"]
    names = dict(zip(towns["code"], towns["name"]))
    unknown = sorted(set(inside["town_code"]) - set(names))
    assert not unknown, f"town codes not in data/plan/towns.csv: {unknown}"
    for row in inside.itertuples():
        # 甪直 is written 甬直 in the plan text: accept both
        assert row.town_name.replace("甬", "甪") == names[row.town_code], row.evidence_id
        assert row.outside_unit == "", row.evidence_id


def test_outside_rows_name_their_neighbour(evidence):
    outside = evidence[evidence["kind"] == "outside"]
    assert (outside["town_code"] == "").all() and (outside["town_name"] == "").all()
    assert set(outside["outside_unit"]) <= NEIGHBOURS


def test_coordinates_in_district_bbox(evidence):
    lon = evidence["lon"].astype(float)
    lat = evidence["lat"].astype(float)
    west, south, east, north = DISTRICT_BBOX
    bad = evidence[~(lon.between(west, east) & lat.between(south, north))]
    assert bad.empty, f"outside {DISTRICT_BBOX}: {list(bad['evidence_id'])}"


def test_every_row_is_sourced_and_not_estimated(evidence):
    for column in ("position_source", "position_method", "township_source"):
        assert (evidence[column].str.strip() != "").all(), column
    # an estimated position is not evidence
    for column in ("position_source", "position_method"):
        assert not evidence[column].str.contains("estimat", case=False).any(), column


def test_no_duplicate_or_placeholder_positions(evidence):
    points = list(zip(evidence["evidence_id"], evidence["lon"].astype(float), evidence["lat"].astype(float)))
    for i, (id_a, lon_a, lat_a) in enumerate(points):
        assert _metres(lon_a, lat_a, *EN_WIKI_METRO_PLACEHOLDER) > 1.0, f"{id_a} carries the placeholder"
        assert _metres(lon_a, lat_a, *GEONAMES_LEGACY_SONGLING) > 1.0, f"{id_a} uses GeoNames 1898494"
        for id_b, lon_b, lat_b in points[i + 1:]:
            assert _metres(lon_a, lat_a, lon_b, lat_b) > 5.0, f"{id_a} and {id_b} share a position"


def test_converted_positions_record_and_match_their_source_value(evidence):
    # a GCJ-02/BD-09 source keeps its printed value as "(<flavour> lon, lat)" in position_source;
    # the stored WGS84 position must be that value run through wuzhong_geo.coords
    converters = {"gcj02": coords.gcj02_to_wgs84, "bd09": coords.bd09_to_wgs84}
    converted = evidence[evidence["coord_flavour"].isin(list(converters))]
    assert not converted.empty, "no converted row left: drop this test or keep one example"
    for row in converted.itertuples():
        found = re.search(rf"\({row.coord_flavour} ([0-9.]+), ([0-9.]+)\)", row.position_source)
        assert found, f"{row.evidence_id}: position_source lacks '({row.coord_flavour} lon, lat)'"
        lon, lat = converters[row.coord_flavour](float(found[1]), float(found[2]), iterations=2)
        assert _metres(float(lon), float(lat), float(row.lon), float(row.lat)) < 1.0, row.evidence_id


def test_seats_agree_with_towns_table(evidence, towns):
    seats = evidence[evidence["kind"] == "seat"].set_index("town_code")
    table = towns.set_index("code")
    assert seats.index.is_unique
    for code, row in seats.iterrows():
        assert not table.loc[code, "seat_source"].startswith("ESTIMATE"), code
        assert float(row["lon"]) == pytest.approx(table.loc[code, "seat_lon"], abs=1e-6), code
        assert float(row["lat"]) == pytest.approx(table.loc[code, "seat_lat"], abs=1e-6), code

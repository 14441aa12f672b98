"""Typed GeoPackage writing: one geometry type per table, version 1.2, read back as one frame."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pyogrio
from shapely import LineString, MultiPoint, Point, box

from wuzhong_geo import gpkg


def _mixed() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"row_id": [1, 2, 3, 4, 5], "name": ["点", "线", "无", "面", "多点"]},
        geometry=[Point(120.6, 31.2), LineString([(120.6, 31.2), (120.7, 31.3)]), None,
                  box(120.5, 31.1, 120.6, 31.2), MultiPoint([(120.6, 31.2), (120.61, 31.21)])],
        crs="EPSG:4326",
    )


def test_mixed_frame_is_split_into_typed_tables(tmp_path):
    path = tmp_path / "mixed.gpkg"
    tables = gpkg.write(_mixed(), path, "sites")
    assert tables == ["sites_points", "sites_multipoints", "sites_lines", "sites_polygons", "sites_no_geometry"]
    listed = dict(pyogrio.list_layers(path))
    assert listed == {"sites_points": "Point", "sites_multipoints": "MultiPoint", "sites_lines": "LineString",
                      "sites_polygons": "Polygon", "sites_no_geometry": None}
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
    back = gpkg.read(path, "sites")
    assert list(back["row_id"]) == [1, 2, 3, 4, 5] and back.geometry.isna().sum() == 1
    assert back.crs.to_epsg() == 4326


def test_one_family_keeps_its_name_and_null_rows(tmp_path):
    path = tmp_path / "points.gpkg"
    frame = _mixed().iloc[[0, 2]]
    assert gpkg.write(frame, path, "sites") == ["sites"]
    assert dict(pyogrio.list_layers(path)) == {"sites": "Point"}
    assert gpkg.read(path, "sites").geometry.isna().sum() == 1


def test_chunks_append_to_suffixed_tables(tmp_path):
    path = tmp_path / "chunks.gpkg"
    frame = _mixed()
    assert gpkg.append(frame.iloc[:2], path, "results") == ["results_points", "results_lines"]
    assert gpkg.append(frame.iloc[2:], path, "results") == ["results_multipoints", "results_polygons",
                                                            "results_no_geometry"]
    gpkg.append(frame.iloc[:1], path, "results")
    listed = dict(pyogrio.list_layers(path))
    assert listed["results_lines"] == "MultiLineString" and listed["results_polygons"] == "MultiPolygon"
    back = gpkg.read(path, "results")
    assert list(back["row_id"]) == [1, 1, 2, 3, 4, 5]
    assert gpkg.split_family("results_no_geometry") == ("results", "no_geometry")
    assert gpkg.split_family("towns") == ("towns", None)

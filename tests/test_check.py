"""check_sites end to end: the sample project list, polygons and lines, outputs, the CLI, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from wuzhong_geo import gpkg
from wuzhong_geo.locate import M2_PER_MU
from wuzhong_geo.pipeline import check_sites, run_check
from wuzhong_geo.cli import app

SITES = Path(__file__).resolve().parent / "data" / "sites"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "projects.csv"
OUTPUTS = {"results.csv", "results.parquet", "results.xlsx", "results.gpkg", "summary.json", "report.html"}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return check_sites(SAMPLE).set_index("row_id", drop=False)  # row_id equals the sample's 序号


def test_every_row_in_input_order(sample):
    assert sample["row_id"].tolist() == list(range(1, 43))
    assert sample["序号"].astype(int).tolist() == list(range(1, 43))
    assert sample["status"].notna().all() and (sample["message"].astype(str) != "").all()


def test_sample_statuses_and_places(sample):
    s = sample
    expected = ["ok", "甪直镇", "先进制造轴", "东部片区"]
    assert s.loc[1, ["status", "name", "functional_zone", "subregion"]].tolist() == expected
    assert s.loc[28, "status"] == "outside_district" and "公里" in s.loc[28, "message"]  # 苏州站
    assert s.loc[29, "status"] == "in_taihu_water"
    assert s.loc[31, "status"] == "invalid_coordinates" and "为空" in s.loc[31, "message"]
    assert s.loc[38, "status"] == "invalid_coordinates" and "312.6" in s.loc[38, "message"]
    assert s.loc[39, "status"] == "invalid_coordinates" and "七参数" in s.loc[39, "message"]
    assert s.loc[30, "name"] == "木渎镇"  # DMS text
    assert s.loc[32, "coordinates_swapped"] and "coordinates_swapped" in s.loc[32, "flags"]
    assert s.loc[40, "name"] == "横泾街道"  # Gauss-Kruger with zone prefix in the 经度/纬度 columns
    for row in (34, 35, 36, 37):  # Amap / Baidu coordinates converted
        assert s.loc[row, "status"] == "ok"
    assert s.loc[34, "name"] == "城南街道" and s.loc[36, "name"] == "长桥街道"


def test_sample_flags(sample):
    s = sample
    assert "industrial_in_eco_belt" in s.loc[17, "flags"] and s.loc[17, "flag_level"] == "warning"
    assert "near_taihu_shore" in s.loc[9, "flags"]
    assert s.loc[9, "taihu_shore_m"] < 1000
    assert s.loc[1, "flags"] == "" and s.loc[1, "flag_level"] == ""
    # 甬直 in the town column is 甪直; a wrong town is reported
    assert s.loc[2, "input_town_code"] == "320506100" and bool(s.loc[2, "town_match"])
    assert s.loc[3, "town_match"]
    assert not s.loc[33, "town_match"] and "town_mismatch" in s.loc[33, "flags"]
    assert pd.isna(s.loc[28, "town_match"])


def test_nearest_infrastructure_columns(sample):
    cols = [c for c in sample.columns if c.startswith("dist_")]
    assert "dist_metro_line_m" in cols and "dist_expressway_m" in cols
    ok = sample["status"] == "ok"
    assert sample.loc[ok, cols].notna().all().all()
    assert sample.loc[sample["status"] == "invalid_coordinates", cols].isna().all().all()
    assert sample.loc[ok, "nearest_metro_line"].str.contains("号线").all()


def test_gcj_and_baidu_land_where_the_wgs84_reference_does():
    ref = check_sites(SITES / "wgs84_reference.csv")
    gcj = check_sites(SITES / "amap_gcj02.csv")
    bd = check_sites(SITES / "baidu_bd09.csv", crs="bd09")
    for other in (gcj, bd):
        assert other["name"].tolist() == ref["name"].tolist()
        assert np.allclose(other["wgs84_lon"], ref["wgs84_lon"], atol=2e-6)
        assert np.allclose(other["wgs84_lat"], ref["wgs84_lat"], atol=2e-6)


def test_polygons_and_lines_are_split_by_zone():
    res = run_check(SITES / "sites.geojson")
    sites, parts = res.sites, res.zone_parts
    straddle = sites.iloc[1]
    assert straddle["crosses_zone_boundary"] and "crosses_zone_boundary" in straddle["flags"]
    assert set(straddle["functional_zones"].split("、")) == {"先进制造轴", "生态文旅带"}
    mine = parts[parts["row_id"] == 2]
    assert mine["area_m2"].sum() == pytest.approx(straddle["area_m2"], rel=1e-6)
    assert mine["share"].sum() == pytest.approx(1.0, abs=1e-3)
    assert straddle["area_ha"] == pytest.approx(straddle["area_m2"] / 10_000, rel=1e-6)
    assert straddle["area_mu"] == pytest.approx(straddle["area_m2"] / M2_PER_MU, rel=1e-4)
    assert "公顷" in straddle["zone_breakdown"] and "亩" in straddle["zone_breakdown"]
    road = sites.iloc[3]
    assert road["geometry_type"] == "line" and road["length_m"] > 5000
    assert parts[parts["row_id"] == 4]["length_m"].sum() <= road["length_m"] + 1e-6
    assert road["crosses_town_boundary"] and "、" in road["towns"]
    assert sites.iloc[4]["geometry_type"] == "point"


def test_invalid_geometry_keeps_its_row_and_says_where_the_repair_lies():
    sites = check_sites(SITES / "broken_selfintersect.geojson")
    assert sites["status"].tolist() == ["invalid_geometry", "ok", "invalid_geometry"]
    assert "自相交" in sites["message"].iloc[0] and "修复后位于郭巷街道" in sites["message"].iloc[0]
    assert "为空" in sites["message"].iloc[2]


def test_buffered_points_report_zone_areas():
    sites = check_sites(SITES / "wgs84_reference.csv", buffer_m=200)
    assert (sites["geometry_type"] == "point").all()
    assert sites["area_m2"].to_numpy() == pytest.approx(np.pi * 200**2, rel=0.01)
    assert sites["name"].tolist() == check_sites(SITES / "wgs84_reference.csv")["name"].tolist()


def test_chunking_does_not_change_results(sample):
    chunked = check_sites(SAMPLE, chunk_size=7).set_index("row_id", drop=False)
    pd.testing.assert_frame_equal(
        chunked.drop(columns="geometry"), sample.drop(columns="geometry"), check_dtype=False
    )


def test_cli_writes_every_output(tmp_path):
    out = tmp_path / "check"
    result = CliRunner().invoke(app, ["check", str(SAMPLE), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left
    raw = (out / "results.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out / "results.csv", encoding="utf-8-sig", dtype=str)
    assert len(table) == 42 and table["status"].notna().all()
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert book.sheetnames[0] == "核查结果" and "字段说明" in book.sheetnames
    rows = list(book["核查结果"].iter_rows(values_only=True))
    assert len(rows) == 43 and rows[1][2] == "甪直医疗器械产业园二期标准厂房"
    # typed tables: the located points, and the rows without coordinates in a table of their own
    listed = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert listed == {"results_points": "Point", "results_no_geometry": None, "layer_styles": None}
    assert len(pyogrio.read_dataframe(out / "results.gpkg", layer="results_no_geometry")) == 3
    frame = gpkg.read(out / "results.gpkg", "results")
    assert len(frame) == 42 and frame.geometry.isna().sum() == 3
    assert list(frame["row_id"]) == sorted(frame["row_id"])
    parquet = gpd.read_parquet(out / "results.parquet")
    assert parquet.crs.to_epsg() == 4326 and list(parquet.columns) == list(table.columns) + ["geometry"]
    assert parquet["status"].tolist() == table["status"].tolist() and parquet.geometry.isna().sum() == 3
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"] == 42 and sum(summary["counts"]["status"].values()) == 42
    assert summary["counts"]["status"]["invalid_coordinates"] == 3
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "项目选址核查报告" in html and "data:image/png;base64," in html and "<script" not in html


def test_report_escapes_user_text(tmp_path):
    out = tmp_path / "esc"
    result = CliRunner().invoke(
        app, ["check", str(SITES / "escape.csv"), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "A &amp; B &quot;引号&quot;" in html


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--crs", "EPSG:99999"], "EPSG:99999"),
        (["--lon-col", "nope", "--lat-col", "纬度"], "nope"),
        (["--rules", "missing.yaml"], "missing.yaml"),
        (["--buffer-m", "-5"], "buffer"),
    ],
)
def test_cli_bad_options_exit_2_and_write_nothing(tmp_path, args, needle):
    out = tmp_path / "nested" / "check"
    result = CliRunner().invoke(app, ["check", str(SAMPLE), "--out", str(out), *args])
    assert result.exit_code == 2
    assert needle in result.output
    assert not (tmp_path / "nested").exists()


@pytest.mark.parametrize(
    "name", ["bad_encoding.csv", "missing_column.csv", "empty.csv", "nothing_here.csv"]
)
def test_cli_unreadable_inputs_exit_2(tmp_path, name):
    result = CliRunner().invoke(app, ["check", str(SITES / name), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "错误" in result.output
    assert not (tmp_path / "out").exists()


def test_failed_run_leaves_the_old_outputs(tmp_path, monkeypatch):
    out = tmp_path / "check"
    out.mkdir()
    (out / "results.csv").write_text("old", encoding="utf-8")
    from wuzhong_geo import outputs, pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "render_report", boom)
    with pytest.raises(RuntimeError):
        pipeline.run(SITES / "wgs84_reference.csv", out, progress=False)
    assert (out / "results.csv").read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["check"]


def test_formats_large_default_and_xlsx_limit(tmp_path, monkeypatch):
    from wuzhong_geo import outputs, pipeline
    from wuzhong_geo.errors import InputError

    summary = pipeline.run(SAMPLE, tmp_path / "a", formats="csv,parquet", progress=False)
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"results.csv", "results.parquet", "summary.json"}
    assert summary["outputs"] == ["results.csv", "results.parquet", "summary.json"]
    with pytest.raises(InputError, match="--formats"):
        pipeline.run(SAMPLE, tmp_path / "b", formats="csv,pdf")
    monkeypatch.setattr(outputs, "LARGE_INPUT_ROWS", 10)  # 42 rows count as a large input now
    pipeline.run(SAMPLE, tmp_path / "c", progress=False)
    assert {p.name for p in (tmp_path / "c").iterdir()} == {
        "results.csv", "results.parquet", "summary.json", "report.html"}
    monkeypatch.setattr(outputs, "XLSX_MAX_ROWS", 41)  # one row past Excel's limit
    result = CliRunner().invoke(app, ["check", str(SAMPLE), "--out", str(tmp_path / "d"), "--formats", "xlsx"])
    assert result.exit_code == 2 and "1,048,576" in result.output and "--formats csv,parquet" in result.output
    assert not (tmp_path / "d").exists()

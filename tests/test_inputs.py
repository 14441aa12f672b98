"""Reading every input kind an analyst gets, and refusing the unreadable ones with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from wuzhong_geo.columns import result_column_names
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs import open_input, read_input
from wuzhong_geo.inputs.parcels import parse_parcel_text, read_parcel_txt

SITES = Path(__file__).resolve().parent / "data" / "sites"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "projects.csv"


def _xy(frame) -> np.ndarray:
    geoms = frame.geometry.values
    out = np.full((len(frame), 2), np.nan)
    ok = ~pd.isna(geoms)
    out[ok] = shapely.get_coordinates(shapely.centroid(geoms[ok]))
    return out


def test_gbk_csv_reads_like_the_utf8_sample():
    utf8, info_utf8 = read_input(SAMPLE)
    gbk, info_gbk = read_input(SITES / "projects_gbk.csv")
    assert info_utf8.encoding == "utf-8" and info_gbk.encoding == "gb18030"
    assert list(utf8.columns) == list(gbk.columns)
    assert utf8["项目名称"].tolist() == gbk["项目名称"].tolist()
    assert np.allclose(_xy(utf8), _xy(gbk), equal_nan=True)
    assert info_utf8.name_col == "项目名称" and info_utf8.category_col == "项目类型"
    assert info_utf8.town_col == "所在镇（街道）" and info_utf8.crs_col == "坐标系"


def test_bom_csv():
    frame, info = read_input(SITES / "projects_bom.csv")
    assert info.encoding == "utf-8-sig" and frame.columns[1] == "序号" and len(frame) == 6


def test_xlsx_with_a_title_row():
    frame, info = read_input(SITES / "projects.xlsx")
    assert len(frame) == 8 and info.lon_col == "经度"
    assert any("跳过" in n for n in info.notes)
    assert frame["_status"].isna().all()


def test_vector_files_agree(tmp_path):
    geojson, _ = read_input(SITES / "sites.geojson")
    gpkg, gpkg_info = read_input(SITES / "sites.gpkg")
    shp, shp_info = read_input(SITES / "redlines_gbk.zip")
    assert gpkg_info.crs == "EPSG:4549"
    assert shp_info.encoding == "GB18030" and shp["名称"].tolist() == geojson["名称"].tolist()[:3]
    assert np.allclose(_xy(geojson), _xy(gpkg), atol=1e-6)
    assert np.allclose(_xy(geojson)[:3], _xy(shp), atol=1e-6)


def test_parcel_txt_with_and_without_zone_prefix():
    prefixed = read_parcel_txt(SITES / "parcels_prefixed.txt")
    plain = read_parcel_txt(SITES / "parcels_plain.txt")
    assert len(prefixed.parcels) == 2 and len(plain.parcels) == 3
    assert prefixed.crs == plain.crs == "EPSG:4549"
    a, b = prefixed.parcels.geometry.iloc[0], plain.parcels.geometry.iloc[0]
    assert a.equals_exact(b, 1e-9) and len(a.interiors) == 1  # ring 2 is a hole
    assert prefixed.parcels["地块名称"].tolist() == ["横泾街道某工业用地", "甬直镇安置房地块"]
    assert prefixed.parcels["地块用途"].tolist() == ["工业用地", "城镇住宅用地"]
    sites, info = read_input(SITES / "parcels_plain.txt")
    assert info.format == "parcel_txt" and sites["_status"].tolist()[2] == "invalid_geometry"
    assert "自相交" in sites["_message"].iloc[2]


def test_parcel_txt_refuses_other_datums_and_orphan_points():
    text = "[属性描述]\n坐标系=1980西安坐标系\n[地块坐标]\n4,1,1,a,面,,,,@\nJ1,1,3451606,550519\n"
    with pytest.raises(InputError, match="西安"):
        parse_parcel_text(text)
    with pytest.raises(InputError, match="@"):
        parse_parcel_text("[地块坐标]\nJ1,1,3451606,550519\n")
    bad = parse_parcel_text("[地块坐标]\n3,1,1,a,面,,,,@\nJ1,1,3451606,550519\nJ2,1,x,y\n")
    assert bad.parcels["_status"].iloc[0] == "invalid_coordinates"


@pytest.mark.parametrize(
    "name, needle",
    [
        ("bad_encoding.csv", "编码"),
        ("missing_column.csv", "坐标列"),
        ("empty.csv", "空"),
        ("header_only.csv", "没有数据行"),
    ],
)
def test_broken_files_stop_with_a_message(name, needle):
    with pytest.raises(InputError, match=needle):
        open_input(SITES / name)


def test_bad_options_stop_with_a_message(tmp_path):
    with pytest.raises(InputError, match="nope"):
        open_input(SAMPLE, lon_col="nope", lat_col="纬度")
    with pytest.raises(InputError, match="lat-col"):
        open_input(SAMPLE, lon_col="经度")
    with pytest.raises(InputError, match="EPSG:99999"):
        open_input(SAMPLE, crs="EPSG:99999")
    with pytest.raises(InputError, match="not found"):
        open_input(tmp_path / "missing.csv")
    odd = tmp_path / "list.docx"
    odd.write_bytes(b"PK")
    with pytest.raises(InputError, match="docx"):
        open_input(odd)


def test_rows_are_never_dropped_and_bad_rows_get_reasons():
    frame, _ = read_input(SITES / "out_of_range.csv")
    assert len(frame) == 5
    assert frame["_status"].tolist()[:3] == ["invalid_coordinates"] * 3
    assert "310.5" in frame["_message"].iloc[0]
    frame, _ = read_input(SITES / "unknown_crs_rows.csv")
    assert pd.isna(frame["_status"].iloc[0]) and frame["_status"].iloc[1] == "invalid_coordinates"
    assert "火星2000" in frame["_message"].iloc[1]


def test_frames_combined_column_wkt_and_reserved_names():
    frame = pd.DataFrame(
        {
            "name": ["甲", "乙"],
            "location": ["120.612,31.262", "120.8363 31.2496"],
            "status": ["在建", "规划"],
        }
    )
    sites, info = read_input(frame, reserved=result_column_names())
    assert info.lonlat_col == "location"
    assert info.renamed == {"name": "input_name", "status": "input_status"}
    assert info.name_col == "input_name"
    assert np.allclose(_xy(sites), [[120.612, 31.262], [120.8363, 31.2496]])
    wkt = pd.DataFrame({"项目": ["a", "b"], "wkt": ["POINT (120.612 31.262)", "not wkt"]})
    sites, info = read_input(wkt)
    assert info.wkt_col == "wkt" and pd.isna(sites["_status"].iloc[0])
    assert sites["_status"].iloc[1] == "invalid_geometry"


def test_chunks_keep_row_ids_in_order():
    reader = open_input(SAMPLE)
    chunks = list(reader.chunks(10))
    assert [len(c) for c in chunks] == [10, 10, 10, 10, 2]
    assert pd.concat(chunks)["row_id"].tolist() == list(range(1, 43))


def test_vector_vertices_follow_crs_flavour():
    wgs, _ = read_input(SITES / "sites.geojson")
    gcj, info = read_input(SITES / "sites.geojson", crs="gcj02")
    shift = np.abs(_xy(wgs) - _xy(gcj))
    assert info.crs == "gcj02" and (shift > 1e-4).all() and (shift < 1e-2).all()


def test_plain_shapefile_with_gbk_dbf(tmp_path):
    import zipfile

    with zipfile.ZipFile(SITES / "redlines_gbk.zip") as z:
        z.extractall(tmp_path)
    shp = next(tmp_path.rglob("*.shp"))
    frame, info = read_input(shp)
    assert info.encoding == "GB18030" and frame["名称"].iloc[0] == "甪直精密制造红线"


def test_xlsx_writer_rolls_over_to_a_new_sheet(tmp_path, monkeypatch):
    import openpyxl

    from wuzhong_geo.outputs import xlsx_writer as xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 4)  # header + 3 rows per sheet
    writer = xlsx.XlsxWriter(tmp_path / "t.xlsx")
    name = writer.add_sheet("结果", ["a", "b"])
    writer.append(name, pd.DataFrame({"a": range(7), "b": ["x<&>"] * 7}))
    writer.close()
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    rows = [list(ws.iter_rows(values_only=True)) for ws in book.worksheets]
    assert [len(r) for r in rows] == [4, 4, 2]
    assert rows[2][1] == (6, "x<&>") and rows[1][0] == ("a", "b")


@pytest.mark.parametrize("text, encoding, expected", [
    ("名称,值\n木渎,1\n胥口,2\n", "gbk", "gb18030"),  # short GBK that statistics alone take for Big5
    ("项目名称,经度,纬度\n甪直镇湖滨村民宿,120.86,31.27\n", "gb18030", "gb18030"),
    ("名稱,數值\n長橋街道,1\n木瀆鎮,2\n東山鎮,3\n", "big5", "big5"),
    ("名称,值\n木渎,1\n", "utf-8-sig", "utf-8-sig"),
])
def test_detect_encoding_of_short_files(tmp_path, text, encoding, expected):
    from wuzhong_geo.textio import detect_encoding

    path = tmp_path / "short.csv"
    path.write_bytes(text.encode(encoding))
    assert detect_encoding(path) == expected
    assert path.read_text(encoding=expected) == text


def _cells(frame: pd.DataFrame) -> dict:
    return {c: frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns
            if c != "geometry"} | {"geometry": shapely.to_wkb(frame.geometry.values).tolist()}


@pytest.mark.parametrize("text", [
    "name,lon,lat\n项目A,120.6,31.2\n  B ,120.61,31.21\nNA,NULL,31.2\n,120.6,\n#N/A,n/a,nan\n",  # NA text, spaces
    "名称,经度,纬度\r\nA,120°36′,31°12′N\r\n\r\nB,１２０．６,31.2\r\n",  # CRLF, blank line, DMS, full-width
    "name;lon;lat\nA;120.6;31.2\nB;120.6\nC;1;2;3\n",  # short and long rows: the csv module path
    'name,lon,lat\n"A, Ltd",120.6,31.2\nB,120.6,31.2\n',  # quotes: the csv module path
    "name,lon,lat,\nA,120.6,31.2,\n",  # trailing delimiters
    "\ufeffname,lon,lat\nA,120.6,31.2\n",  # BOM
])
def test_arrow_reader_reads_like_the_csv_module(tmp_path, monkeypatch, text):
    from wuzhong_geo.inputs import tables

    path = tmp_path / "sites.csv"
    path.write_bytes(text.encode("utf-8"))
    fast = pd.concat(list(open_input(path).chunks(2)), ignore_index=True)
    monkeypatch.setattr(tables, "ARROW_MAX_BYTES", -1)  # every file through the csv module
    slow = pd.concat(list(open_input(path).chunks(2)), ignore_index=True)
    assert _cells(fast) == _cells(slow)


def test_arrow_reader_is_used_for_a_plain_file(tmp_path):
    from wuzhong_geo.inputs import tables

    path = tmp_path / "plain.csv"
    path.write_text("name,lon,lat\nA,120.6,31.2\n", encoding="utf-8")
    assert tables._arrow_table(path, "utf-8", ",", 0, ["name", "lon", "lat"]) is not None
    path.write_text("name,lon,lat\nA,120.6\n", encoding="utf-8")
    assert tables._arrow_table(path, "utf-8", ",", 0, ["name", "lon", "lat"]) is None


def test_a_malformed_row_prints_no_traceback(tmp_path):
    """A row with an extra field (no quotes: Arrow's reader tries first) is marked, and stderr stays clean."""
    path = tmp_path / "sites.csv"
    path.write_text("name,lon,lat\nA,120.6,31.2\nB,120.7,31.1,extra\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "wuzhong_geo.cli", "check", str(path), "--out", str(tmp_path / "out"),
                           "--formats", "csv", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    status = pd.read_csv(tmp_path / "out" / "results.csv", encoding="utf-8-sig")["status"].tolist()
    assert status == ["ok", "malformed_row"]

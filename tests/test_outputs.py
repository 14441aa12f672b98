"""The result writers read back: every format holds the result frame's values, whatever its dtypes.

The check may hand the writers object, pandas ``string``/``string[pyarrow]``, categorical or Arrow
dictionary text columns; each file must hold the same texts and numbers, text that looks like a
formula stays text (``'`` prefix in CSV, a string cell in XLSX) and numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wuzhong_geo import gpkg
from wuzhong_geo.columns import kind_of
from wuzhong_geo.csvsafe import safe_cell
from wuzhong_geo.errors import InputError
from wuzhong_geo.outputs import FORMAT_FILES, ResultWriter
from wuzhong_geo.outputs.summary import Counts
from wuzhong_geo.outputs.xlsx import ResultWorkbook
from wuzhong_geo.pipeline import run_check, summarise

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "projects.csv"
FORMULAS = {3: '=HYPERLINK("http://x","y")', 4: "-2+3", 5: "@SUM(1)", 6: "-12.5"}


@pytest.fixture(scope="module")
def checked():
    result = run_check(SAMPLE)
    sites = result.sites.copy()
    for row, text in FORMULAS.items():
        sites.loc[sites["row_id"] == row, "项目名称"] = text
    return result, sites


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "geometry" and kind_of(c) == "text" and c != "row_id"]


def _as(frame: gpd.GeoDataFrame, flavour: str) -> gpd.GeoDataFrame:
    """The same results with text columns in another dtype (what the check may return)."""
    out = frame.copy()
    for col in _text_columns(frame):
        values = frame[col].astype(object).where(frame[col].notna(), None)
        if flavour == "category":
            out[col] = values.astype("category")
        elif flavour == "string[pyarrow]":
            out[col] = values.astype("string[pyarrow]")
        elif flavour == "arrow-dictionary":
            arr = pa.array(values.tolist(), type=pa.string()).dictionary_encode()
            out[col] = pd.Series(pd.arrays.ArrowExtensionArray(arr), index=frame.index)
        else:
            out[col] = values
    return out


def _write(result, sites: gpd.GeoDataFrame, folder: Path) -> Path:
    folder.mkdir()
    writer = ResultWriter(folder, result.run.columns(), tuple(FORMAT_FILES), name_col=result.run.info.name_col,
                          rows=len(sites))
    counts = Counts()
    for half in (sites.iloc[:20], sites.iloc[20:]):  # two chunks: appends must keep one schema
        counts.add(half)
        writer.add(half, result.zone_parts.iloc[:0])
    summary = summarise(result.run, counts, outputs=writer.outputs())
    writer.close(summary)
    (folder / "summary.json").write_text(json.dumps(summary, default=str), encoding="utf-8")
    return folder


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)


@pytest.mark.parametrize("flavour", ["object", "category", "string[pyarrow]", "arrow-dictionary"])
def test_every_format_holds_the_results(checked, tmp_path, flavour):
    result, sites = checked
    frame = _as(sites, flavour)
    out = _write(result, frame, tmp_path / "out")
    texts = _text_columns(sites)
    expected = {c: [_text(v) for v in sites[c].astype(object)] for c in texts}

    # CSV: formula-like text gets a leading ', plain numbers stay numbers
    table = pd.read_csv(out / "results.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    names = table["项目名称"].tolist()
    assert names[2] == "'" + FORMULAS[3] and names[3] == "'-2+3" and names[4] == "'@SUM(1)"
    assert names[5] == "-12.5"  # just a number: no prefix
    for col in texts:
        if col != "项目名称":
            assert table[col].tolist() == [safe_cell(v) for v in expected[col]], col
    numbers = pd.read_csv(out / "results.csv", encoding="utf-8-sig")
    assert numbers["dist_waterway_m"].dtype == float
    np.testing.assert_allclose(numbers["dist_waterway_m"], sites["dist_waterway_m"], equal_nan=True)
    assert numbers["row_id"].tolist() == sites["row_id"].tolist()

    # XLSX: every text as a string cell (never a formula), numbers as numbers
    book = openpyxl.load_workbook(out / "results.xlsx")
    sheet = book["核查结果"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(sites)
    header = list(result.run.columns())[:-1]
    for j, col in enumerate(header):
        cells = [r[j] for r in rows]
        if col in texts:
            assert [_text(c.value) for c in cells] == expected[col], col
            assert all(c.data_type == "s" for c in cells if c.value is not None), col
        elif kind_of(col) == "float":
            got = np.array([np.nan if c.value is None else c.value for c in cells], dtype=float)
            np.testing.assert_allclose(got, sites[col].to_numpy(dtype=float), equal_nan=True)
            assert all(c.data_type == "n" for c in cells if c.value is not None), col
    assert rows[2][header.index("项目名称")].value == FORMULAS[3]

    # GeoParquet and GeoPackage: the same texts and numbers
    parquet = gpd.read_parquet(out / "results.parquet")
    package = gpkg.read(out / "results.gpkg", "results")
    for col in texts:
        assert [_text(v) for v in parquet[col]] == expected[col], col
        assert [_text(v) for v in package[col]] == expected[col], col
    np.testing.assert_allclose(parquet["dist_waterway_m"], sites["dist_waterway_m"], equal_nan=True)
    np.testing.assert_allclose(package["dist_waterway_m"], sites["dist_waterway_m"], equal_nan=True)
    same = parquet.geometry.geom_equals_exact(sites.geometry.reset_index(drop=True), tolerance=0)
    assert same.sum() == sites.geometry.notna().sum()
    # Parquet dictionaries for repeated texts and categoricals, none for plain all-different texts
    group = pq.ParquetFile(out / "results.parquet").metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert "RLE_DICTIONARY" in encodings["status"] and "RLE_DICTIONARY" not in encodings["dist_waterway_m"]
    categorical = flavour == "category"  # Arrow dictionaries reach the writers decoded (outputs/table.py)
    assert frame["项目名称"].is_unique and ("RLE_DICTIONARY" in encodings["项目名称"]) == categorical


def test_xlsx_is_a_valid_package_with_shared_strings(checked, tmp_path):
    result, sites = checked
    out = _write(result, sites, tmp_path / "out")
    with zipfile.ZipFile(out / "results.xlsx") as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert {"xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "[Content_Types].xml"} <= names
        types = z.read("[Content_Types].xml").decode()
        assert "sharedStrings+xml" in types
    frame = pd.read_excel(out / "results.xlsx", sheet_name="核查结果")
    assert len(frame) == len(sites) and frame["行号"].tolist() == sites["row_id"].tolist()


def test_gpkg_and_xlsx_hold_what_parquet_holds(checked, tmp_path):
    """GPKG and XLSX are written from Arrow (no pandas frame): every column reads back as in the GeoParquet."""
    result, sites = checked
    out = _write(result, _as(sites, "category"), tmp_path / "out")
    parquet = gpd.read_parquet(out / "results.parquet")
    package = gpkg.read(out / "results.gpkg", "results")
    sheet = openpyxl.load_workbook(out / "results.xlsx")["核查结果"]
    columns = [c for c in result.run.columns() if c != "geometry"]
    book = {col: [c.value for c in cells] for col, cells in zip(columns, sheet.iter_cols(min_row=2))}
    assert list(package.columns) == list(parquet.columns)
    for col in columns:
        want = [_text(v) for v in parquet[col]]
        assert [_text(v) for v in package[col]] == want, col
        cells = ["" if v is None else str(v) for v in book[col]]
        if kind_of(col) == "float":  # Excel numbers: compare as numbers (1.0 reads back as 1)
            got = np.array([np.nan if v is None else v for v in book[col]], dtype=float)
            np.testing.assert_array_equal(got, parquet[col].to_numpy(dtype=float), err_msg=col)
        elif parquet[col].dtype == bool or str(parquet[col].dtype) == "boolean":
            assert [{"True": "True", "False": "False"}.get(c, c) for c in cells] == want, col
        else:
            assert cells == want, col
    assert package.geometry.to_wkt().tolist() == parquet.geometry.to_wkt().tolist()  # rows without one: None
    assert parquet.geometry.isna().any()
    with sqlite3.connect(out / "results.gpkg") as con:  # written with 64 KiB pages (outputs/gpkg.py)
        assert con.execute("PRAGMA page_size").fetchone()[0] == 65536


@pytest.mark.parametrize("slice_rows", [None, 2])
def test_xlsx_writer_takes_arrow_tables(tmp_path, monkeypatch, slice_rows):
    """Dictionary chunks with differing (and unused) texts, nulls, NaN and infinities, padded unique texts;
    the same cells whether a chunk's XML is built at once or in slices of 2 rows."""
    from wuzhong_geo.outputs import xlsx_writer
    from wuzhong_geo.outputs.xlsx_writer import XlsxWriter

    if slice_rows:
        monkeypatch.setattr(xlsx_writer, "SLICE_ROWS", slice_rows)

    second = pa.DictionaryArray.from_arrays(pa.array([1, 1], pa.int32()), pa.array(["unused", "b<&>"]))
    table = pa.table({
        "d": pa.chunked_array([pa.array(["a", None, "", "a"]).dictionary_encode(), second]),
        "f": pa.chunked_array([[1.5, float("nan"), float("inf"), None], [2.25, -3.0]]),
        "i": pa.array([1, 2, None, 4, 5, 2**40], pa.int64()),
        "b": [True, None, False, True, True, False],
        "u": [" x", "y", "z", "w", "v", "s"],
    })
    writer = XlsxWriter(tmp_path / "t.xlsx")
    name = writer.add_sheet("表", table.column_names)
    writer.append(name, table)
    writer.close()
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx")["表"].iter_rows(min_row=2, values_only=True))
    assert rows == [("a", 1.5, 1, True, " x"), (None, None, 2, None, "y"), (None, None, None, False, "z"),
                    ("a", None, 4, True, "w"), ("b<&>", 2.25, 5, True, "v"), ("b<&>", -3, 2**40, False, "s")]
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        shared = z.read("xl/sharedStrings.xml").decode()
    assert "unused" not in shared and 'uniqueCount="2"' in shared


def _mixed_table(rows: int) -> tuple[pa.Table, list[tuple]]:
    """Columns of every kind the writer builds differently (per-row numbers and texts between runs of
    few-valued columns: shared strings, booleans, all-missing and mostly-missing numbers, a column of
    many distinct texts that ends a run) and the values openpyxl must read back."""
    rng = np.random.default_rng(13)
    pick = lambda values, p=None: [values[i] for i in rng.choice(len(values), rows, p=p)]  # noqa: E731
    few = pick(["a<b&c>", "乙", "", None, " 丙 "])
    sparse = pick([None, 1.5, float("nan"), float("inf"), 2.0, -0.25], p=[0.6, 0.1, 0.1, 0.05, 0.1, 0.05])
    columns = {
        "id": list(range(rows)),
        "few": few,
        "txt": pick(["x", "y > z", None]),
        "flag": pick([True, False, None]),
        "gone": [None] * rows,
        "sparse": sparse,
        "sparse_int": pick([None, 7, 2**40], p=[0.8, 0.1, 0.1]),
        "dist": list(rng.uniform(0, 5e4, rows).round(1)),
        "many": [f"名{i // 3}" for i in range(rows)],
        "flag2": pick([True, False]),
        "uniq": [f"<{i}&>" if i % 5 else f" {i}" for i in range(rows)],
        "tail_gone": [None] * rows,
    }
    table = pa.table({
        **{k: v for k, v in columns.items() if k not in ("few", "gone", "tail_gone", "sparse")},
        "few": pa.array(few).dictionary_encode(),
        "gone": pa.array([None] * rows, pa.float64()),
        "tail_gone": pa.array([None] * rows, pa.large_string()),
        "sparse": pa.array(sparse, pa.float64()),
    }).select(list(columns))

    def read(value):
        if value is None or value == "" or (isinstance(value, float) and not np.isfinite(value)):
            return None
        return value

    want = [tuple(read(columns[k][i]) for k in columns) for i in range(rows)]
    return table, want


@pytest.mark.parametrize(("slice_rows", "block_rows"), [(None, None), (7, None), (7, 60)])
def test_xlsx_writer_runs_of_few_valued_columns(tmp_path, monkeypatch, slice_rows, block_rows):
    """Neighbouring columns of few distinct cells are written as one part of each row (their
    combinations): every cell reads back with its value and type, whatever the blocks whose cells are
    built at once (a run breaks where its combinations would exceed a quarter of the block's rows) and
    the slices whose XML is joined at once."""
    from wuzhong_geo.outputs import xlsx_writer

    if slice_rows:
        monkeypatch.setattr(xlsx_writer, "SLICE_ROWS", slice_rows)
    if block_rows:
        monkeypatch.setattr(xlsx_writer, "BLOCK_ROWS", block_rows)
    table, want = _mixed_table(400)
    writer = xlsx_writer.XlsxWriter(tmp_path / "t.xlsx")
    name = writer.add_sheet("表", table.column_names)
    writer.append(name, table.slice(0, 150))
    writer.append(name, table.slice(150))
    writer.close()
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["表"]
    assert [c.value for c in sheet[1]] == table.column_names
    rows = list(sheet.iter_rows(min_row=2))
    assert [tuple(c.value for c in r) for r in rows] == want
    kinds = {"id": "n", "few": "s", "txt": "s", "flag": "b", "sparse": "n", "sparse_int": "n", "dist": "n",
             "many": "s", "flag2": "b", "uniq": "s"}
    for j, col in enumerate(table.column_names):
        assert {r[j].data_type for r in rows if r[j].value is not None} <= {kinds.get(col)}, col
    assert all(isinstance(r[table.column_names.index("flag2")].value, bool) for r in rows)
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        shared = z.read("xl/sharedStrings.xml").decode()
    assert "a&lt;b&amp;c&gt;" in shared and "名133" in shared  # shared as texts repeat in each append
    # the same XML, byte for byte, as with every coded column a part of its own
    alone = lambda columns, rows: [xlsx_writer._run([c], c.codes, len(c.cells)) for c in columns]  # noqa: E731
    monkeypatch.setattr(xlsx_writer, "_coded_parts", alone)
    writer = xlsx_writer.XlsxWriter(tmp_path / "alone.xlsx")
    name = writer.add_sheet("表", table.column_names)
    writer.append(name, table.slice(0, 150))
    writer.append(name, table.slice(150))
    writer.close()
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z, zipfile.ZipFile(tmp_path / "alone.xlsx") as y:
        assert z.read("xl/worksheets/sheet1.xml") == y.read("xl/worksheets/sheet1.xml")


def test_xlsx_escape_looks_at_bytes_first():
    """Cell text as XML: the byte look that skips Arrow's scans changes nothing, on texts that need each
    step (illegal characters, U+FFFE/U+FFFF, ``&<>``, more than Excel's 32,767 characters) and on those
    that only look as if they might (tab, newline, full-width forms, many bytes but few characters)."""
    import re
    from xml.sax.saxutils import escape

    from wuzhong_geo.outputs.xlsx_writer import MAX_TEXT, _escape

    illegal = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    texts = ["a\x01b\x1f", "x&y<z>", "\t换行\n\r", "（全角）ｆ", "\ufffe\uffff中", "中" * 20_000, "中" * 40_000,
             "plain", "", None, "&" * 3, "5 > 3"]
    for start in range(len(texts)):
        for length in (1, 3, len(texts)):
            part = pa.array(texts, pa.large_string()).slice(start, length)
            want = [None if t is None else escape(illegal.sub("", t)[:MAX_TEXT]) for t in part.to_pylist()]
            assert _escape(part).to_pylist() == want, (start, length)


def test_xlsx_worksheets_are_deflated_by_isal(tmp_path):
    """The worksheet XML goes through ISA-L's deflate (zipfile's zlib compressor swapped before the first
    byte): if a Python release renames what is swapped, the file stays right but slow, and this says so."""
    from isal import isal_zlib

    from wuzhong_geo.outputs.xlsx_writer import XlsxWriter

    writer = XlsxWriter(tmp_path / "t.xlsx")
    name = writer.add_sheet("表", ["n"])
    writer.add_sheet("二", ["n"])
    assert type(writer.sheets[0].handle._compressor) is type(isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15))
    for sheet in (name, "二"):
        writer.append(sheet, pa.table({"n": pa.array(range(5000), pa.int64())}))
    writer.close()
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        assert z.testzip() is None  # CRCs of the inflated members match
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert [r[0] for r in book["二"].iter_rows(min_row=2, values_only=True)] == list(range(5000))


def test_chunk_wkb_is_shapely_wkb():
    """Point chunks get their WKB from coordinates; any other chunk (a missing, empty or 3D point, a
    polygon) from shapely; the bytes are shapely's either way."""
    import shapely

    from wuzhong_geo.outputs.table import ChunkData

    xy = np.array([[120.1, 31.2], [-0.5, 1e-300], [120.123456789, 31.0]])
    chunks = [shapely.points(xy), np.array([shapely.Point(1, 2), None]), np.array([shapely.Point(1, 2), shapely.Point()]),
              shapely.points(np.c_[xy, xy[:, 0]]), np.array([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)]),
              np.array([], dtype=object)]
    for geoms in chunks:
        wkb = ChunkData.of(gpd.GeoDataFrame({"a": range(len(geoms))}, geometry=list(geoms), crs=4326)).wkb
        assert wkb.type == pa.binary()
        assert wkb.to_pylist() == list(shapely.to_wkb(geoms)), geoms


def test_formula_check_on_sliced_arrays():
    """The first-byte look that skips the formula regex: sliced arrays, missing cells, both string types."""
    from wuzhong_geo.csvsafe import safe_text_array

    values = ["=x", "ok", None, "", "+1", "-", "中", "a"]
    for kind in (pa.string(), pa.large_string()):
        arr = pa.array(values, kind)
        for start in range(len(values)):
            part = arr.slice(start, 3)
            want = ["'" + v if v in ("=x", "-") else v for v in part.to_pylist()]
            assert safe_text_array(part).to_pylist() == want, (kind, start)
            assert safe_text_array(part.dictionary_encode()).to_pylist() == want, (kind, start)


def test_xlsx_refuses_past_excels_rows_bilingually(tmp_path, monkeypatch):
    from wuzhong_geo.outputs import xlsx

    monkeypatch.setattr(xlsx, "XLSX_MAX_ROWS", 10)
    book = ResultWorkbook(tmp_path / "r.xlsx", ["row_id", "name"])
    book.count(10)
    with pytest.raises(InputError) as err:
        book.count(1)
    book.abort()
    message = str(err.value)
    assert "1,048,576" in message and "--formats csv,parquet" in message and "超过" in message
    assert not (tmp_path / "r.xlsx").exists()


def test_csv_header_and_cells_cannot_start_formulas(tmp_path):
    from wuzhong_geo.csvsafe import FORMULA_START, safe_table

    values = ["=1+1", "+1e3", "-1", "\t=x", "\r=1", "ok", None, "-", "@a"]
    table = pa.table({"=bad": values, "n": pa.array(range(len(values)), pa.int64()),
                      "d": pa.array(values).dictionary_encode()})
    safe = safe_table(table)
    assert safe.column_names[0] == "'=bad" and safe.column("n").equals(table.column("n"))
    expected = ["'=1+1", "+1e3", "-1", "'\t=x", "'\r=1", "ok", None, "'-", "'@a"]
    assert safe.column(0).to_pylist() == expected
    assert safe.column("d").to_pylist() == expected
    text = io.StringIO()
    import pyarrow.csv as pa_csv

    sink = pa.BufferOutputStream()
    pa_csv.write_csv(safe, sink)
    text.write(sink.getvalue().to_pybytes().decode())
    for row in csv.reader(io.StringIO(text.getvalue())):
        for cell in row:
            assert not cell.startswith(FORMULA_START) or cell in ("+1e3", "-1"), cell


def _grid_csv(path: Path, n: int = 36) -> Path:
    """A grid of points over the district: some fall within the measured error of a schematic line."""
    from wuzhong_geo import layers

    west, south, east, north = layers.district().total_bounds
    lon, lat = np.meshgrid(np.linspace(west, east, n), np.linspace(south, north, n))
    frame = pd.DataFrame({"name": [f"点{i}" for i in range(lon.size)], "lon": lon.ravel().round(6),
                          "lat": lat.ravel().round(6)})
    frame.to_csv(path, index=False)
    return path


def test_report_lists_low_confidence_rows(tmp_path, monkeypatch):
    import re

    from typer.testing import CliRunner

    from wuzhong_geo.cli import app
    from wuzhong_geo.outputs import report

    source = _grid_csv(tmp_path / "grid.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["check", str(source), "--out", str(out), "--formats", "csv,html", "--no-progress"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    low = table[(table["town_confidence"] == "low") | (table["zone_confidence"] == "low")]
    assert len(low) > 3  # the grid crosses schematic lines
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html[html.index("六、镇界/功能区分界附近的低可信度结果"):html.index("七、地图")]
    assert f"（{len(low):,}）" in section
    listed = re.findall(r"<tr><td>(\d+)</td><td>(点\d+)</td>", section)
    assert [int(r) for r, _ in listed] == low["row_id"].astype(int).tolist()
    first = low[low["town_confidence"] == "low"].iloc[0]
    assert first["town_alternative"] and first["town_alternative"] in section and f"{float(first['town_boundary_distance_m']):,.0f}" in section

    # capped: the first rows and a count of the rest
    monkeypatch.setattr(report, "MAX_TABLE_ROWS", 2)
    result = CliRunner().invoke(app, ["check", str(source), "--out", str(out), "--formats", "html", "--no-progress"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html[html.index("六、镇界/功能区分界附近的低可信度结果"):html.index("七、地图")]
    assert len(re.findall(r"<tr><td>\d+</td>", section)) == 2
    assert f"另有 {len(low) - 2:,} 条未列出" in section

"""Tables as sites: CSV/TSV/TXT (encoding and delimiter detected), XLSX, DataFrames, 界址点坐标 TXT.

Coordinates come from longitude/latitude columns, one "lon,lat" column or WKT, found by
:mod:`wuzhong_geo.inputs.detect`; each chunk is parsed vectorised (DMS, swapped axes, per-row CRS).
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas._libs.parsers import STR_NA_VALUES

from wuzhong_geo import coords, limits
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs import parcels
from wuzhong_geo.inputs.detect import (
    CATEGORY_NAMES,
    CRS_NAMES,
    LAT_NAMES,
    LON_NAMES,
    LONLAT_NAMES,
    NAME_NAMES,
    TOWN_NAMES,
    WKT_NAMES,
    dedupe,
    find,
    find_containing,
    header_row,
    is_header,
    sniff_delimiter,
)
from wuzhong_geo.inputs.geometry import degrees_hint, finish_geometries, reproject_vector
from wuzhong_geo.inputs.sites import InputInfo, SiteReader, renames, slices, whole_frame_reader
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import detect_encoding


@dataclass
class _TablePlan:
    spec: coords.CoordSpec | None
    lon_col: str | None = None
    lat_col: str | None = None
    lonlat_col: str | None = None
    wkt_col: str | None = None
    crs_col: str | None = None


def open_text(path: Path, spec, encoding: str | None, explicit: dict) -> SiteReader:
    """Open a CSV/TSV/TXT (or 界址点坐标 TXT) file; rows are parsed chunk by chunk."""
    codec = encoding or detect_encoding(path)
    head = read_head(path, codec)
    if parcels.looks_like_parcel_txt(head):
        try:
            parsed = parcels.read_parcel_txt(path, crs=_parcel_crs(spec), encoding=codec)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path.name}: 不能按 {codec} 解码 / cannot decode as {codec}: {exc}"
            ) from None
        info = InputInfo(
            source=path.name,
            format="parcel_txt",
            encoding=codec,
            crs=parsed.crs,
            notes=list(parsed.notes),
        )
        frame = parsed.parcels
        frame["_swapped"] = False
        frame["_dms"] = False
        frame["_source_crs"] = parsed.crs
        info.name_col = "地块名称"
        info.category_col = "地块用途"
        return whole_frame_reader(
            finish_geometries(frame, info), info, {**explicit, "lon_col": None, "lat_col": None}
        )
    sep, skip, header = text_layout(path, codec, head, explicit)
    info = InputInfo(source=path.name, format="csv", encoding=codec)
    if skip:
        info.notes.append(f"跳过表头上方 {skip} 行标题")

    rows = _count_rows(path, skip)
    limits.check("max_rows", rows, path.name)  # before any parsing: Arrow reads the whole file
    table = _arrow_table(path, codec, sep, skip, header)

    def chunks(size: int) -> Iterator[pd.DataFrame]:
        if table is not None:
            yield from _arrow_records(table, size)
        else:
            yield from _records(path, codec, sep, skip, header, size)

    first = next(chunks(1000))
    if len(first) < 1000:  # every record is in it: an exact count (blank lines are not records)
        rows = len(first)
    return table_reader(chunks, first.head(0).drop(columns=MALFORMED), rows, spec, info, explicit,
                        first=first.drop(columns=MALFORMED))


def read_head(path: Path, codec: str) -> str:
    """The first 64 KiB of a text file as text; InputError if it does not decode as ``codec``."""
    with open(path, encoding=codec, errors="strict", newline="") as f:
        try:
            return f.read(1 << 16)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path.name}: 不能按 {codec} 解码 / cannot decode as {codec}: {exc}"
            ) from None


def text_layout(path: Path, codec: str, head: str, explicit: dict) -> tuple[str, int, list[str]]:
    """Delimiter, number of title lines above the header, and the header of a delimited text file.

    InputError for an empty file or a header over the ``max_columns`` limit.
    """
    if not head.strip():
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    lines = head.splitlines()
    sep = sniff_delimiter(lines[:30])
    skip = header_row(lines[:30], sep, explicit)
    header = _header(path, codec, sep, skip)
    limits.check("max_columns", len(header), f"{path.name} 第 {skip + 1} 行 / line {skip + 1}")
    return sep, skip, header


#: Cells read as missing, as pandas does (``NA``, ``NULL``, ``#N/A``, ``nan``, …).
_NA_TEXT = frozenset(STR_NA_VALUES)
#: Internal column of text rows whose field count does not match the header (the reason, or "").
MALFORMED = "_malformed"


def _header(path: Path, codec: str, sep: str, skip: int) -> list[str]:
    with open(path, encoding=codec, newline="") as f:
        for _ in range(skip):
            f.readline()
        header = next(records(csv.reader(f, delimiter=sep), path.name, skip), [])
    while header and not header[-1].strip():  # "a,b,c," — a trailing delimiter names no column
        header.pop()
    if not header:
        raise InputError(f"{path.name}: 第 {skip + 1} 行表头为空 / the header line {skip + 1} is empty")
    return dedupe([h.strip() or f"列{i + 1}" for i, h in enumerate(header)])


def _records(path: Path, codec: str, sep: str, skip: int, header: list[str], size: int
             ) -> Iterator[pd.DataFrame]:
    """Every physical record of a delimited file, in order, as text cells (never skipped).

    A record with more or fewer fields than the header is kept, padded or cut to the header, and
    marked in :data:`MALFORMED` with its line number; trailing empty fields ("a,b,") are dropped
    first, so files whose every line ends with a delimiter read normally. Cells keep their
    leading spaces (a space protects a formula-like cell); blank lines are not records.
    """
    with open(path, encoding=codec, newline="") as f:
        for _ in range(skip):
            f.readline()
        reader = csv.reader(f, delimiter=sep)
        next(reader, None)
        yield from parse_records(reader, header, size, line_offset=skip, source=path.name)


def csv_problem(exc: csv.Error, source: str, line: int) -> InputError:
    """The InputError for a record the csv module cannot split (a field over 128 KiB, a NUL …)."""
    return InputError(
        f"{source}: 第 {line} 行附近无法按表格读取（{exc}）：某个单元格超过 131,072 个字符，多半是引号未闭合；"
        f"请检查该行的引号 / near line {line}: cannot be read as a table ({exc}): a cell longer than "
        "131,072 characters, most likely an unclosed quote; check the quotes on that line"
    )


def records(reader, source: str, line_offset: int) -> Iterator[list[str]]:
    """The records of a ``csv.reader``; InputError (:func:`csv_problem`) where it cannot split one,
    naming the line the failing record starts on (where an unclosed quote opens)."""
    done = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise csv_problem(exc, source, done + 1 + line_offset) from None
        done = reader.line_num
        yield record


def parse_records(reader, header: list[str], size: int, line_offset: int, source: str = "CSV"
                  ) -> Iterator[pd.DataFrame]:
    """Frames of at most ``size`` records from a ``csv.reader`` (see :func:`_records`).

    ``line_offset`` + the reader's line count is the file's line number: the Dask engine reads a
    byte range of a file with a fresh reader and the line number its range starts after.
    """
    n = len(header)
    rows: list[list[str]] = []
    bad: list[str] = []
    last_line = reader.line_num + line_offset
    for record in records(reader, source, line_offset):
        start, last_line = last_line + 1, reader.line_num + line_offset
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        count = len(record)
        while len(record) > n and not record[-1].strip():
            record.pop()
        if len(record) == n:
            bad.append("")
        else:
            bad.append(f"第 {start} 行有 {count} 个字段，表头有 {n} 个（分隔符或引号有误？）/ "
                       f"line {start} has {count} fields, the header {n}")
            record = (record + [""] * n)[:n]
        rows.append(record)
        if len(rows) >= size:
            yield _frame(rows, header, bad)
            rows, bad = [], []
    if rows or not bad:
        yield _frame(rows, header, bad)


#: Files up to this size are tried with Arrow's CSV reader (held in memory as one table).
ARROW_MAX_BYTES = 512 << 20


def _arrow_table(path: Path, codec: str, sep: str, skip: int, header: list[str]):
    """The whole file as an Arrow table of text cells, or None where :func:`_records` must read it.

    Arrow's reader (C++, multithreaded) reads a plain file ~20x faster than the csv module. It
    is used only where both give the same cells: UTF-8, the header on the first line, no quote
    character anywhere (quoting rules differ in corner cases), at least two columns, and every
    record with exactly the header's field count (else the rows must be kept and marked
    malformed with their line numbers, which :func:`_records` does).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if codec not in ("utf-8", "utf-8-sig") or skip or len(header) < 2 or len(sep) != 1:
        return None
    if path.stat().st_size > ARROW_MAX_BYTES:
        return None
    data = path.read_bytes()
    if b'"' in data or b"\x00" in data:  # quoting and NUL: the csv module's rules
        return None

    def refuse(row) -> str:
        # "error" makes the reader raise ArrowInvalid; an exception raised here instead would be
        # printed to stderr by pyarrow as an unraisable one, a traceback a user sees
        return "error"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=header),
            parse_options=pa_csv.ParseOptions(delimiter=sep, quote_char=False, invalid_row_handler=refuse),
            convert_options=pa_csv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    # a cell over the csv module's field limit is refused by it, naming its line: keep one answer
    if any((pc.max(pc.utf8_length(col)).as_py() or 0) > csv.field_size_limit() for col in table.columns):
        return None
    na_text = pa.array(sorted(_NA_TEXT), type=pa.string())
    columns = [pc.if_else(pc.is_in(col, value_set=na_text), pa.scalar(None, pa.string()), col)
               for col in table.columns]
    return pa.table(columns, names=header)


def _arrow_records(table, size: int) -> Iterator[pd.DataFrame]:
    """Chunks of an Arrow table as frames of text cells (missing cells NaN), none malformed."""
    for start in range(0, max(table.num_rows, 1), size):
        frame = table.slice(start, size).to_pandas()
        frame[MALFORMED] = ""
        yield frame


def _frame(rows: list[list[str]], header: list[str], bad: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    for col in frame.columns:
        values = frame[col]
        frame[col] = values.where(~values.isin(_NA_TEXT), np.nan)
    frame[MALFORMED] = bad
    return frame


def _count_rows(path: Path, skip: int) -> int:
    # Only for the progress bar: newlines minus header (a quoted newline may over-count).
    with open(path, "rb") as f:
        n = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 22), b""))
    return max(n - skip - 1, 0)


def open_excel(path: Path, spec, sheet, explicit: dict) -> SiteReader:
    """Open an XLSX sheet (the first with data unless ``sheet``), skipping title rows."""
    limits.check_xlsx(path)  # zip bombs and absurd sheet sizes are refused before openpyxl inflates them
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile, openpyxl errors, …
        raise InputError(
            f"{path.name}: 无法读取 Excel 文件（{type(exc).__name__}），旧版 .xls 请另存为 .xlsx / cannot read "
            "the Excel file; save old .xls workbooks as .xlsx"
        ) from None
    names = book.sheet_names
    if sheet is not None:
        if str(sheet) not in names and not (isinstance(sheet, int) and sheet < len(names)):
            raise InputError(
                f"{path.name}: 没有工作表 {sheet!r}；已有 {names} / no sheet {sheet!r}"
            )
        chosen = sheet if isinstance(sheet, int) or str(sheet) in names else names[0]
    else:
        chosen = None
        for name in names:
            raw = pd.read_excel(book, sheet_name=name, header=None, nrows=20, dtype=object)
            if not raw.dropna(how="all").empty:
                chosen = name
                break
        if chosen is None:
            raise InputError(f"{path.name}: 所有工作表都是空的 / every sheet is empty")
    raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    raw = _show_uncached_formulas(path, chosen if isinstance(chosen, str) else names[chosen], raw)
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise InputError(
            f"{path.name}: 工作表 {chosen!r} 没有数据 / sheet {chosen!r} holds no data"
        )
    header = 0
    for i in range(min(15, len(raw))):
        if is_header(list(raw.iloc[i]), explicit):
            header = i
            break
    columns = [
        str(c).strip() if pd.notna(c) else f"列{j + 1}" for j, c in enumerate(raw.iloc[header])
    ]
    frame = raw.iloc[header + 1 :].copy()
    frame.columns = dedupe(columns)
    frame = frame.reset_index(drop=True)
    frame = frame.infer_objects()
    info = InputInfo(source=path.name, format="xlsx")
    info.notes.append(
        f"读取工作表 {chosen!r}" + (f"（共 {len(names)} 个工作表）" if len(names) > 1 else "")
    )
    if header:
        info.notes.append(f"跳过表头上方 {header} 行标题")
    return table_reader(
        lambda size: slices(frame, size),
        frame.head(0),
        len(frame),
        spec,
        info,
        explicit,
        first=frame.head(1000),
    )




def _has_formulas(path: Path) -> bool:
    """Whether any worksheet holds a formula (``<f>`` element): streams the XML, stores nothing."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as f:
                    tail = b""
                    for block in iter(lambda: f.read(1 << 20), b""):
                        if re.search(rb"<(?:\w+:)?f[ >/]", tail + block):
                            return True
                        tail = block[-8:]
    return False


def _show_uncached_formulas(path: Path, sheet: str, raw: pd.DataFrame) -> pd.DataFrame:
    """Put the formula text into cells whose formula has no saved result (read as empty otherwise).

    A workbook written by a script, or never opened in Excel, keeps formulas without results; the
    check then reports ``公式无缓存值：=…`` for the row instead of a silent empty cell.
    """
    if not _has_formulas(path):
        return raw
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        found = [(c.row - 1, c.column - 1, c.value) for row in book[sheet].iter_rows() for c in row
                 if isinstance(c.value, str) and c.value.startswith("=")]
    finally:
        book.close()
    if not found:
        return raw
    raw = raw.reindex(index=range(max(len(raw), max(r for r, _, _ in found) + 1)),
                      columns=range(max(len(raw.columns), max(c for _, c, _ in found) + 1)))
    for r, c, formula in found:
        if pd.isna(raw.iat[r, c]):
            raw.iat[r, c] = f"公式无缓存值：{formula[:60]}"
    return raw


def _resolve_columns(
    columns: list[str], first: pd.DataFrame, spec, explicit: dict, info: InputInfo
) -> _TablePlan:
    def need(col: str | None, what: str) -> str | None:
        if col is None:
            return None
        if col not in columns:
            raise InputError(
                f"{info.source}: 找不到列 {col!r}（{what}）；文件中的列为 {columns} / unknown column {col!r} ({what})"
            )
        return col

    plan = _TablePlan(spec=spec)
    plan.lon_col = need(explicit.get("lon_col"), "--lon-col")
    plan.lat_col = need(explicit.get("lat_col"), "--lat-col")
    info.name_col = (
        need(explicit.get("name_col"), "--name-col")
        or find(columns, NAME_NAMES)
        or find_containing(columns, ("名称",))
    )
    info.category_col = need(explicit.get("category_col"), "--category-col") or find(
        columns, CATEGORY_NAMES
    )
    info.town_col = need(explicit.get("town_col"), "--town-col") or find(columns, TOWN_NAMES)
    plan.crs_col = find(columns, CRS_NAMES)
    if plan.lon_col is None:
        plan.lon_col = find(columns, LON_NAMES) or find_containing(columns, ("经度", "lng", "longitude"))
        plan.lat_col = find(columns, LAT_NAMES) or find_containing(columns, ("纬度", "latitude"))
        if plan.lon_col is None or plan.lat_col is None:
            plan.lon_col = plan.lat_col = None
            plan.lonlat_col = find(columns, LONLAT_NAMES)
            plan.wkt_col = find(columns, WKT_NAMES) if plan.lonlat_col is None else None
    if plan.lon_col is None and plan.lonlat_col is None and plan.wkt_col is None:
        raise InputError(
            f"{info.source}: 找不到坐标列（如 经度/纬度、lng/lat、x/y 或 WKT）；文件中的列为 {columns}。"
            "请用 --lon-col 和 --lat-col 指定。 / no coordinate columns found; pass --lon-col and --lat-col."
        )
    if spec is None:
        guessed = coords.crs_from_columns(
            [c for c in (plan.lon_col, plan.lat_col, plan.lonlat_col) if c]
        )
        if guessed is not None:
            plan.spec = guessed
            info.notes.append(f"根据列名判断坐标为 {guessed.label}（可用 --crs 改写）")
    info.lon_col, info.lat_col = plan.lon_col, plan.lat_col
    info.lonlat_col, info.wkt_col, info.crs_col = plan.lonlat_col, plan.wkt_col, plan.crs_col
    info.crs = plan.spec.label if plan.spec else "auto"
    if plan.crs_col:
        info.notes.append(f"逐行坐标系取自列 {plan.crs_col!r}，空白行按 {info.crs} 处理")
    return plan



def table_reader(
    chunk_fn,
    empty: pd.DataFrame,
    rows: int,
    spec,
    info: InputInfo,
    explicit: dict,
    first: pd.DataFrame,
) -> SiteReader:
    """A reader over table chunks: resolve the coordinate and role columns once, parse each chunk."""
    columns = [str(c) for c in empty.columns]
    if rows == 0 or first.dropna(how="all").empty and rows <= len(first):
        raise InputError(
            f"{info.source}: 只有表头，没有数据行 / the file has a header but no data rows"
        )
    plan = _resolve_columns(columns, first, spec, explicit, info)
    renamed = renames(columns, explicit.get("reserved", ()))
    info.renamed = renamed
    info.columns = [renamed.get(c, c) for c in columns]
    for attr in (
        "lon_col",
        "lat_col",
        "lonlat_col",
        "wkt_col",
        "crs_col",
        "name_col",
        "category_col",
        "town_col",
    ):
        value = getattr(info, attr)
        if value in renamed:
            setattr(info, attr, renamed[value])
    for attr in ("lon_col", "lat_col", "lonlat_col", "wkt_col", "crs_col"):
        value = getattr(plan, attr)
        if value in renamed:
            setattr(plan, attr, renamed[value])
    info.rows = rows

    def chunks(size: int) -> Iterator[gpd.GeoDataFrame]:
        for chunk in chunk_fn(size):
            chunk = chunk.copy()
            chunk.columns = [str(c) for c in chunk.columns]
            chunk = chunk.rename(columns=renamed)
            yield _table_sites(chunk, plan, info)

    return SiteReader(info, chunks)


def _table_sites(frame: pd.DataFrame, plan: _TablePlan, info: InputInfo) -> gpd.GeoDataFrame:
    """Turn one chunk of a table into sites (vectorised)."""
    n = len(frame)
    status = np.full(n, None, dtype=object)
    message = np.full(n, "", dtype=object)
    if MALFORMED in frame.columns:
        reason = frame.pop(MALFORMED).to_numpy(dtype=object)
        status[reason != ""] = "malformed_row"
        message[reason != ""] = reason[reason != ""]
    notes = np.full(n, "", dtype=object)
    swapped = np.zeros(n, dtype=bool)
    dms = np.zeros(n, dtype=bool)
    source_crs = np.full(n, "", dtype=object)
    if plan.wkt_col:
        text = frame[plan.wkt_col].astype("string").fillna("")
        geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
        open_ = status == None  # noqa: E711 (element-wise on an object array)
        geoms[~open_] = None
        missing = text.str.strip().eq("").to_numpy() & open_
        bad = pd.isna(geoms) & ~missing & open_
        status[missing | bad] = "invalid_geometry"
        message[missing] = f"{plan.wkt_col} 为空"
        message[bad] = f"{plan.wkt_col} 不是有效的 WKT"
        sites = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=None)
        sites = reproject_vector(sites, plan.spec, info, default_by_numbers=True)
    else:
        if plan.lonlat_col:
            pair = (
                frame[plan.lonlat_col]
                .astype("string")
                .str.strip()
                .str.split(r"[,，;；\s]+", n=1, expand=True, regex=True)
            )
            pair = pair.reindex(columns=[0, 1])
            a_raw, b_raw = pair[0], pair[1]
            a_name, b_name = f"{plan.lonlat_col}(经度)", f"{plan.lonlat_col}(纬度)"
        else:
            a_raw, b_raw = frame[plan.lon_col], frame[plan.lat_col]
            a_name, b_name = plan.lon_col, plan.lat_col
        a, a_dms, a_prob = coords.parse_coordinate(a_raw)
        b, b_dms, b_prob = coords.parse_coordinate(b_raw)
        dms = (a_dms | b_dms).to_numpy()
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        problem = np.full(n, "", dtype=object)
        groups = _crs_groups(frame, plan, status, message)
        for spec, sel in groups:
            if spec is not None and spec.kind == "epsg" and spec.geographic is False and sel.any():
                with np.errstate(invalid="ignore"):
                    if (np.nanmedian(np.abs(a.to_numpy()[sel])) <= 180
                            and np.nanmedian(np.abs(b.to_numpy()[sel])) <= 90):
                        degrees_hint(info, spec.crs)
            conv = coords.to_wgs84(a.to_numpy()[sel], b.to_numpy()[sel], spec)
            lon[sel], lat[sel] = conv.lon, conv.lat
            swapped[sel] = conv.swapped
            problem[sel] = conv.problem
            source_crs[sel] = conv.source_crs
        parse_msg = _join_reasons(a_name, a_prob.to_numpy(), b_name, b_prob.to_numpy())
        bad = (parse_msg != "") & (status == None)
        status[bad] = "invalid_coordinates"
        message[bad] = parse_msg[bad]
        bad = (problem != "") & (status == None)
        status[bad] = "invalid_coordinates"
        message[bad] = problem[bad]
        ok = status == None
        lon[~ok] = np.nan
        lat[~ok] = np.nan
        notes[swapped & ok] = "经纬度（或 X/Y）填反，已自动交换"
        geoms = gpd.points_from_xy(lon, lat)
        geoms[~ok] = None
        sites = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=STORAGE_CRS
        )
    sites["_status"] = status
    sites["_message"] = message
    sites["_notes"] = notes
    sites["_swapped"] = swapped
    sites["_dms"] = dms
    sites["_source_crs"] = source_crs
    if plan.wkt_col:
        sites = finish_geometries(sites, info)
    return sites


def _join_reasons(a_name: str, a_prob: np.ndarray, b_name: str, b_prob: np.ndarray) -> np.ndarray:
    if not ((a_prob != "").any() or (b_prob != "").any()):  # every coordinate parsed
        return np.full(len(a_prob), "", dtype=object)
    a_msg = np.where(
        a_prob != "", np.char.add(np.char.add(str(a_name), "："), a_prob.astype(str)), ""
    )
    b_msg = np.where(
        b_prob != "", np.char.add(np.char.add(str(b_name), "："), b_prob.astype(str)), ""
    )
    both = (a_msg != "") & (b_msg != "")
    joined = np.where(both, np.char.add(np.char.add(a_msg, "；"), b_msg), np.char.add(a_msg, b_msg))
    return joined.astype(object)


def _crs_groups(frame: pd.DataFrame, plan: _TablePlan, status, message) -> list[tuple]:
    """Split rows by their coordinate system: the per-row CRS column if any, else the file's."""
    n = len(frame)
    if not plan.crs_col:
        return [(plan.spec, np.ones(n, dtype=bool))]
    values = frame[plan.crs_col].astype("string").str.strip().fillna("")
    groups = []
    remaining = values.eq("").to_numpy()
    if remaining.any():
        groups.append((plan.spec, remaining))
    for value in pd.unique(values[values.ne("")]):
        sel = values.eq(value).to_numpy()
        try:
            spec = coords.parse_crs(value)
        except InputError:
            status[sel] = "invalid_coordinates"
            why = coords.unsupported_reason(value)
            message[sel] = (
                f"{plan.crs_col}“{value}”：{why}"
                if why
                else f"{plan.crs_col}“{value}”不是可识别的坐标系（wgs84/cgcs2000/gcj02/bd09/EPSG:n）"
            )
            continue
        groups.append((spec, sel))
    return groups


# --- vector files ------------------------------------------------------------------------------



def _parcel_crs(spec) -> str | None:
    if spec is None or spec.kind == "cgcs2000":
        return None
    if spec.kind == "epsg":
        return spec.crs
    raise InputError(
        f"界址点坐标文件是投影坐标，--crs {spec.label} 不适用；请用 cgcs2000 或 EPSG:n"
    )


"""Read any project list an analyst gets into sites: one row per input row, none dropped.

Supported: CSV/TSV/TXT (UTF-8, UTF-8 with BOM, GBK/GB18030, Big5; detected), XLSX, GeoJSON,
GeoPackage, Shapefile (plain or zipped; GBK DBF without .cpg), 界址点坐标 TXT, and in-memory
DataFrames/GeoDataFrames. Every row leaves with a geometry in EPSG:4326 (or None) and, when its
coordinates or geometry are unusable, a pre-analysis ``_status`` and a Chinese ``_message``.

Columns a reader adds (dropped before output): ``_status``, ``_message``, ``_notes`` (row notes,
e.g. swapped lat/lon), ``_swapped`` (bool), ``_dms`` (bool), ``_source_crs``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from wuzhong_geo import coords, parcels_txt
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import detect_encoding

#: Columns of the check results; input columns with these names are renamed ``input_<name>``.
RESERVED_COLUMNS = frozenset(
    {
        "row_id",
        "status",
        "message",
        "code",
        "name",
        "management_zone",
        "functional_zone",
        "subregion",
        "geometry",
        "geometry_type",
        "flags",
        "flag_level",
        "flag_notes",
        "wgs84_lon",
        "wgs84_lat",
    }
)
INTERNAL_COLUMNS = ("_status", "_message", "_notes", "_swapped", "_dms", "_source_crs")

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml", ".parquet"}

# Column names are compared after NFKC, lower-casing and removing spaces, underscores and
# bracketed suffixes such as （°） or (GCJ-02).
_LON = (
    "经度",
    "东经",
    "lng",
    "lon",
    "long",
    "longitude",
    "x",
    "x坐标",
    "坐标x",
    "pointx",
    "中心点经度",
    "centerx",
    "gcj经度",
    "高德经度",
    "百度经度",
    "wgs84经度",
    "gcjlng",
    "gcjlon",
    "bdlng",
    "bdlon",
    "wgslng",
    "wgslon",
    "lng84",
    "横坐标",
)
_LAT = (
    "纬度",
    "北纬",
    "lat",
    "latitude",
    "y",
    "y坐标",
    "坐标y",
    "pointy",
    "中心点纬度",
    "centery",
    "gcj纬度",
    "高德纬度",
    "百度纬度",
    "wgs84纬度",
    "gcjlat",
    "bdlat",
    "wgslat",
    "lat84",
    "纵坐标",
)
_LONLAT = ("经纬度", "坐标", "location", "lnglat", "lonlat", "经纬度坐标", "中心点坐标", "gps坐标")
_WKT = ("wkt", "geometry", "geom", "几何", "shape", "thegeom", "geometrywkt", "图形")
_NAME = (
    "项目名称",
    "名称",
    "项目",
    "工程名称",
    "地块名称",
    "name",
    "projectname",
    "project",
    "title",
    "项目名",
)
_CATEGORY = (
    "项目类型",
    "项目类别",
    "类别",
    "类型",
    "行业",
    "产业类别",
    "产业类型",
    "用地性质",
    "地块用途",
    "用途",
    "category",
    "type",
    "industry",
    "landuse",
    "kind",
)
_TOWN = (
    "所在镇",
    "所在镇街",
    "所在镇（街道）",
    "镇街",
    "镇",
    "乡镇",
    "街道",
    "所在街道",
    "属地",
    "所属镇街",
    "镇区",
    "town",
    "township",
    "street",
)
_CRS = (
    "坐标系",
    "坐标类型",
    "坐标来源",
    "坐标系统",
    "crs",
    "coordtype",
    "coordsys",
    "srs",
    "coordinatesystem",
)


def _key(name: object) -> str:
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    text = re.sub(r"[\(\[【（].*?[\)\]】）]", "", text)
    return re.sub(r"[\s_\-./]+", "", text)


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    keys = {c: _key(c) for c in columns}
    for cand in candidates:  # candidates are in order of preference
        for col, key in keys.items():
            if key == cand:
                return col
    return None


def _find_contains(columns: list[str], needles: tuple[str, ...]) -> str | None:
    for col in columns:
        key = _key(col)
        if any(n in key for n in needles):
            return col
    return None


@dataclass
class InputInfo:
    """What was read and how: shown in summary.json and the report."""

    source: str
    format: str
    rows: int = 0
    encoding: str | None = None
    crs: str = ""
    columns: list[str] = field(default_factory=list)
    lon_col: str | None = None
    lat_col: str | None = None
    lonlat_col: str | None = None
    wkt_col: str | None = None
    crs_col: str | None = None
    name_col: str | None = None
    category_col: str | None = None
    town_col: str | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class _TablePlan:
    spec: coords.CoordSpec | None
    lon_col: str | None = None
    lat_col: str | None = None
    lonlat_col: str | None = None
    wkt_col: str | None = None
    crs_col: str | None = None


class SiteReader:
    """An opened input: ``info`` and :meth:`chunks` (GeoDataFrames of at most ``size`` rows)."""

    def __init__(self, info: InputInfo, chunk_fn):
        self.info = info
        self._chunk_fn = chunk_fn

    def chunks(self, size: int = 50_000) -> Iterator[gpd.GeoDataFrame]:
        """Yield the sites in input order, ``row_id`` counting from 1 across chunks."""
        start = 1
        for chunk in self._chunk_fn(size):
            chunk = chunk.reset_index(drop=True)
            chunk.insert(0, "row_id", np.arange(start, start + len(chunk), dtype=np.int64))
            start += len(chunk)
            yield chunk

    def read(self) -> gpd.GeoDataFrame:
        """Return all sites at once."""
        parts = list(self.chunks(1 << 30))
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def read_input(source, **options) -> tuple[gpd.GeoDataFrame, InputInfo]:
    """Read a file or frame (see :func:`open_input`) into sites; return them with the InputInfo."""
    reader = open_input(source, **options)
    sites = reader.read()
    return sites, reader.info


def open_input(
    source,
    *,
    crs: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    category_col: str | None = None,
    town_col: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
) -> SiteReader:
    """Open a path, DataFrame or GeoDataFrame; raise InputError for anything that stops the run.

    ``crs``: wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:n (default: WGS84 for degrees, CGCS2000
    Gauss-Kruger for metres, the file's own CRS for vector files).
    """
    spec = coords.parse_crs(crs) if crs else None
    if (lon_col is None) != (lat_col is None):
        raise InputError("--lon-col 与 --lat-col 须同时给出 / give both --lon-col and --lat-col")
    explicit = {
        "lon_col": lon_col,
        "lat_col": lat_col,
        "name_col": name_col,
        "category_col": category_col,
        "town_col": town_col,
    }
    if isinstance(source, gpd.GeoDataFrame):
        info = InputInfo(source="GeoDataFrame", format="geodataframe")
        frame = _vector_sites(source.copy(), spec, info)
        return _whole(frame, info, explicit)
    if isinstance(source, pd.DataFrame):
        info = InputInfo(source="DataFrame", format="dataframe")
        return _table_reader(
            lambda size: _slices(source, size),
            source.head(0),
            len(source),
            spec,
            info,
            explicit,
            first=source.head(1000),
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"找不到输入文件 / input file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} 是文件夹，请给出文件 / is a folder; give a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _open_text(path, spec, encoding, explicit)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _open_excel(path, spec, sheet, explicit)
    if suffix in VECTOR_SUFFIXES:
        return _open_vector(path, spec, layer, encoding, explicit)
    raise InputError(
        f"{path.name}: 不支持的文件类型 {suffix!r} / unsupported file type; use CSV, XLSX, GeoJSON, GPKG, "
        "Shapefile (.shp/.zip) or 界址点坐标 TXT"
    )


# --- tables ------------------------------------------------------------------------------------


def _slices(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(frame), 1), size):
        yield frame.iloc[start : start + size]


def _open_text(path: Path, spec, encoding: str | None, explicit: dict) -> SiteReader:
    codec = encoding or detect_encoding(path)
    with open(path, encoding=codec, errors="strict", newline="") as f:
        try:
            head = f.read(1 << 16)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path.name}: 不能按 {codec} 解码 / cannot decode as {codec}: {exc}"
            ) from None
    if parcels_txt.looks_like_parcel_txt(head):
        try:
            parsed = parcels_txt.read_parcel_txt(path, crs=_parcel_crs(spec), encoding=codec)
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
        return _whole(
            _finish_geometries(frame, info), info, {**explicit, "lon_col": None, "lat_col": None}
        )
    if not head.strip():
        raise InputError(f"{path.name}: 文件为空 / the file is empty")
    lines = head.splitlines()
    sep = _sniff(lines[:30])
    header_row = _header_row_text(lines[:30], sep, explicit)
    try:
        first = pd.read_csv(
            path,
            sep=sep,
            encoding=codec,
            dtype=str,
            skiprows=header_row,
            nrows=1000,
            skipinitialspace=True,
            engine="c",
            on_bad_lines="warn",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: 无法按表格读取 / cannot read as a table: {exc}") from None
    info = InputInfo(source=path.name, format="csv", encoding=codec)
    if header_row:
        info.notes.append(f"跳过表头上方 {header_row} 行标题")

    def chunks(size: int) -> Iterator[pd.DataFrame]:
        reader = pd.read_csv(
            path,
            sep=sep,
            encoding=codec,
            dtype=str,
            skiprows=header_row,
            chunksize=size,
            skipinitialspace=True,
            engine="c",
            on_bad_lines="warn",
        )
        yield from reader

    rows = _count_rows(path, codec, header_row)
    return _table_reader(chunks, first.head(0), rows, spec, info, explicit, first=first)


def _count_rows(path: Path, codec: str, header_row: int) -> int:
    # Only for the progress bar: newlines minus header (a quoted newline may over-count).
    with open(path, "rb") as f:
        n = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 22), b""))
    return max(n - header_row - 1, 0)


def _sniff(lines: list[str]) -> str:
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in (",", "\t", ";", "|")}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def _is_header(cells: list[str], explicit: dict) -> bool:
    cols = [str(c) for c in cells if c is not None and str(c).strip() and str(c) != "nan"]
    if not cols:
        return False
    if explicit.get("lon_col") and explicit["lon_col"] in cols:
        return True
    found = (_find(cols, _LON) and _find(cols, _LAT)) or _find(cols, _LONLAT) or _find(cols, _WKT)
    return bool(found)


def _header_row_text(lines: list[str], sep: str, explicit: dict) -> int:
    """Skip title lines above the header (exports often start with 'XX项目表' and a blank line)."""
    rows = list(csv.reader(lines, delimiter=sep))
    if rows and _is_header(rows[0], explicit):
        return 0
    for i, row in enumerate(rows[:15]):
        if _is_header(row, explicit):
            return i
    return 0


def _open_excel(path: Path, spec, sheet, explicit: dict) -> SiteReader:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile, openpyxl errors, …
        raise InputError(
            f"{path.name}: 无法读取 Excel 文件 / cannot read the Excel file ({exc}); "
            "旧版 .xls 请另存为 .xlsx"
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
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise InputError(
            f"{path.name}: 工作表 {chosen!r} 没有数据 / sheet {chosen!r} holds no data"
        )
    header = 0
    for i in range(min(15, len(raw))):
        if _is_header(list(raw.iloc[i]), explicit):
            header = i
            break
    columns = [
        str(c).strip() if pd.notna(c) else f"列{j + 1}" for j, c in enumerate(raw.iloc[header])
    ]
    frame = raw.iloc[header + 1 :].copy()
    frame.columns = _dedupe(columns)
    frame = frame.reset_index(drop=True)
    frame = frame.infer_objects()
    info = InputInfo(source=path.name, format="xlsx")
    info.notes.append(
        f"读取工作表 {chosen!r}" + (f"（共 {len(names)} 个工作表）" if len(names) > 1 else "")
    )
    if header:
        info.notes.append(f"跳过表头上方 {header} 行标题")
    return _table_reader(
        lambda size: _slices(frame, size),
        frame.head(0),
        len(frame),
        spec,
        info,
        explicit,
        first=frame.head(1000),
    )


def _dedupe(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        if c in seen:
            seen[c] += 1
            out.append(f"{c}_{seen[c]}")
        else:
            seen[c] = 0
            out.append(c)
    return out


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
        or _find(columns, _NAME)
        or _find_contains(columns, ("名称",))
    )
    info.category_col = need(explicit.get("category_col"), "--category-col") or _find(
        columns, _CATEGORY
    )
    info.town_col = need(explicit.get("town_col"), "--town-col") or _find(columns, _TOWN)
    plan.crs_col = _find(columns, _CRS)
    if plan.lon_col is None:
        plan.lon_col = _find(columns, _LON) or _find_contains(columns, ("经度", "lng", "longitude"))
        plan.lat_col = _find(columns, _LAT) or _find_contains(columns, ("纬度", "latitude"))
        if plan.lon_col is None or plan.lat_col is None:
            plan.lon_col = plan.lat_col = None
            plan.lonlat_col = _find(columns, _LONLAT)
            plan.wkt_col = _find(columns, _WKT) if plan.lonlat_col is None else None
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


def _renames(columns: list[str]) -> dict[str, str]:
    """Rename input columns that clash with result columns (case-insensitively: GPKG fields are)."""
    from wuzhong_geo.check import result_column_names  # the result schema lives with the check

    reserved = {c.lower() for c in result_column_names()} | {c.lower() for c in RESERVED_COLUMNS}
    out = {}
    taken = {str(c).lower() for c in columns}
    for c in columns:
        if str(c).lower() in reserved or str(c).startswith("_"):
            new = f"input_{str(c).lstrip('_')}"
            while new.lower() in taken or new.lower() in reserved:
                new = f"input_{new}"
            out[c] = new
            taken.add(new.lower())
    return out


def _table_reader(
    chunk_fn,
    empty: pd.DataFrame,
    rows: int,
    spec,
    info: InputInfo,
    explicit: dict,
    first: pd.DataFrame,
) -> SiteReader:
    columns = [str(c) for c in empty.columns]
    if rows == 0 or first.dropna(how="all").empty and rows <= len(first):
        raise InputError(
            f"{info.source}: 只有表头，没有数据行 / the file has a header but no data rows"
        )
    plan = _resolve_columns(columns, first, spec, explicit, info)
    renamed = _renames(columns)
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
    notes = np.full(n, "", dtype=object)
    swapped = np.zeros(n, dtype=bool)
    dms = np.zeros(n, dtype=bool)
    source_crs = np.full(n, "", dtype=object)
    if plan.wkt_col:
        text = frame[plan.wkt_col].astype("string").fillna("")
        geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
        missing = text.str.strip().eq("").to_numpy()
        bad = pd.isna(geoms) & ~missing
        status[missing | bad] = "invalid_geometry"
        message[missing] = f"{plan.wkt_col} 为空"
        message[bad] = f"{plan.wkt_col} 不是有效的 WKT"
        sites = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=None)
        sites = _reproject_vector(sites, plan.spec, info, default_by_numbers=True)
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
        sites = _finish_geometries(sites, info)
    return sites


def _join_reasons(a_name: str, a_prob: np.ndarray, b_name: str, b_prob: np.ndarray) -> np.ndarray:
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


def _shapefile_without_cpg(path: Path) -> bool:
    if path.suffix.lower() == ".shp":
        return not path.with_suffix(".cpg").exists() and not path.with_suffix(".CPG").exists()
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n.lower() for n in z.namelist()]
        except zipfile.BadZipFile:
            return False
        return any(n.endswith(".dbf") for n in names) and not any(n.endswith(".cpg") for n in names)
    return False


def _mojibake_score(frame: pd.DataFrame) -> int:
    """Latin-1 letters and replacement characters: the marks of a GBK DBF read as Latin-1/UTF-8."""
    score = 0
    for col in frame.columns:
        if frame[col].dtype == object or str(frame[col].dtype).startswith(("str", "string")):
            text = frame[col].dropna().astype(str)
            score += int(text.str.count(r"[\u0080-\u00ff\ufffd]").sum())
    return score


def _zip_member(path: Path) -> str:
    """GDAL path of the dataset inside a zip (Shapefiles are often in a sub-folder)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: 不是有效的 zip 文件 / not a valid zip file") from None
    for ext in (".shp", ".gpkg", ".geojson", ".json"):
        found = sorted(n for n in names if n.lower().endswith(ext) and not n.startswith("__MACOSX"))
        if found:
            return f"/vsizip/{path.resolve()}/{found[0]}"
    raise InputError(
        f"{path.name}: zip 中没有 .shp/.gpkg/.geojson / the zip holds no vector file ({names[:10]})"
    )


def _open_vector(
    path: Path, spec, layer: str | None, encoding: str | None, explicit: dict
) -> SiteReader:
    source = _zip_member(path) if path.suffix.lower() == ".zip" else path
    try:
        layers = pyogrio.list_layers(source)
    except Exception as exc:  # noqa: BLE001 - pyogrio.errors.DataSourceError and friends
        raise InputError(
            f"{path.name}: 无法作为矢量文件读取 / cannot read as a vector file ({exc})"
        ) from None
    if len(layers) == 0:
        raise InputError(f"{path.name}: 没有图层 / no layers")
    names = [str(n) for n in layers[:, 0]]
    if layer is not None and layer not in names:
        raise InputError(f"{path.name}: 没有图层 {layer!r}；已有 {names} / no layer {layer!r}")
    chosen = layer or names[0]
    info = InputInfo(source=path.name, format=_vector_format(path))
    if len(names) > 1:
        info.notes.append(f"读取图层 {chosen!r}（共 {len(names)} 个图层：{', '.join(names)}）")
    kwargs = {"layer": chosen, "engine": "pyogrio"}
    try:
        if encoding:
            frame = gpd.read_file(source, encoding=encoding, **kwargs)
            info.encoding = encoding
        else:
            frame = gpd.read_file(source, **kwargs)
            if _shapefile_without_cpg(path) and _mojibake_score(frame.drop(columns="geometry")):
                # Chinese desktop GIS writes GBK DBFs without a .cpg: GDAL then assumes Latin-1.
                alt = gpd.read_file(source, encoding="GB18030", **kwargs)
                if _mojibake_score(alt.drop(columns="geometry")) < _mojibake_score(
                    frame.drop(columns="geometry")
                ):
                    frame = alt
                    info.encoding = "GB18030"
                    info.notes.append("属性表（DBF）没有 .cpg 编码说明，按 GBK/GB18030 读取")
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise InputError(f"{path.name}: 无法读取 / cannot read ({exc})") from None
    if frame.empty:
        raise InputError(
            f"{path.name}: 图层 {chosen!r} 没有要素 / layer {chosen!r} has no features"
        )
    frame = _vector_sites(frame, spec, info)
    return _whole(frame, info, explicit)


def _vector_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return {
        ".shp": "shapefile",
        ".zip": "shapefile_zip",
        ".gpkg": "gpkg",
        ".json": "geojson",
        ".geojson": "geojson",
    }.get(suffix, suffix.lstrip("."))


def _vector_sites(frame: gpd.GeoDataFrame, spec, info: InputInfo) -> gpd.GeoDataFrame:
    geom_name = frame.geometry.name
    frame = frame.rename_geometry("geometry") if geom_name != "geometry" else frame
    frame = _reproject_vector(frame, spec, info, default_by_numbers=frame.crs is None)
    n = len(frame)
    frame["_status"] = np.full(n, None, dtype=object)
    frame["_message"] = np.full(n, "", dtype=object)
    frame["_notes"] = np.full(n, "", dtype=object)
    frame["_swapped"] = np.zeros(n, dtype=bool)
    frame["_dms"] = np.zeros(n, dtype=bool)
    frame["_source_crs"] = info.crs
    return _finish_geometries(frame, info)


def _reproject_vector(
    frame: gpd.GeoDataFrame, spec, info: InputInfo, default_by_numbers: bool
) -> gpd.GeoDataFrame:
    """Bring vector geometries to EPSG:4326, honouring --crs (GCJ-02/BD-09 vertices converted)."""
    geoms = frame.geometry.values
    finite = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms[finite]) if finite.any() else np.zeros((0, 4))
    projected_numbers = bool(bounds.size) and bool(np.nanmax(np.abs(bounds)) > 1000)
    declared = frame.crs
    if spec is not None and spec.kind in ("gcj02", "bd09"):
        fn = coords.gcj02_to_wgs84 if spec.kind == "gcj02" else coords.bd09_to_wgs84
        if declared is not None and not declared.is_geographic:
            frame = frame.to_crs(STORAGE_CRS)
        out = shapely.transform(
            frame.geometry.values,
            lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1], iterations=coords.REFINE)),
        )
        info.crs = spec.label
        info.notes.append(f"几何坐标按 {spec.label} 转换为 WGS84")
        return frame.set_geometry(gpd.GeoSeries(out, index=frame.index), crs=STORAGE_CRS)
    if spec is not None and spec.kind == "epsg":
        info.crs = spec.crs
        if declared is not None and not declared.equals(spec.crs):
            info.notes.append(f"文件声明的坐标系 {declared.to_string()} 被 --crs {spec.crs} 覆盖")
        return frame.set_crs(spec.crs, allow_override=True).to_crs(STORAGE_CRS)
    if spec is not None and spec.kind == "wgs84":
        info.crs = "wgs84"
        return frame.set_crs(STORAGE_CRS, allow_override=True)
    # No --crs or cgcs2000: trust a declared projected CRS; otherwise decide from the numbers.
    if (
        declared is not None
        and not declared.is_geographic
        and not (spec and spec.kind == "cgcs2000")
    ):
        info.crs = declared.to_string()
        return frame.to_crs(STORAGE_CRS)
    if projected_numbers:
        east = bounds[:, 0]
        north = bounds[:, 1]
        # Survey exports put northing first (X); geometries normally hold x = easting.
        if np.nanmedian(east) > 2e6 and np.nanmedian(east) < 1e7 and np.nanmedian(north) < 1e6:
            frame = frame.set_geometry(
                shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])
            )
            info.notes.append("几何坐标 X/Y 顺序为 北/东，已交换")
            east = north
        crs = coords.gk_crs_for_easting(np.array([np.nanmedian(east)]))[0]
        if declared is not None and declared.is_geographic:
            info.notes.append(
                f"文件声明 {declared.to_string()}，但坐标是米制数值：按 CGCS2000 高斯-克吕格 {crs} 读取"
            )
        elif declared is None:
            info.notes.append(
                f"文件没有坐标系（缺 .prj？），按数值判断为 CGCS2000 高斯-克吕格 {crs}"
            )
        info.crs = str(crs)
        return frame.set_crs(crs, allow_override=True).to_crs(STORAGE_CRS)
    if declared is None:
        info.notes.append("文件没有坐标系（缺 .prj？），按数值判断为经纬度（WGS84/CGCS2000）")
        info.crs = "wgs84"
        return frame.set_crs(STORAGE_CRS)
    info.crs = "cgcs2000" if spec is not None else declared.to_string()
    return frame.to_crs(STORAGE_CRS)


_REASONS = {
    "Self-intersection": "边界自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数不足",
    "Hole lies outside shell": "内环在外环之外",
    "Nested shells": "外环嵌套",
    "Interior is disconnected": "内部不连通",
    "Duplicate Rings": "重复的环",
    "Invalid Coordinate": "坐标无效",
    "Nested holes": "内环嵌套",
    "Ring is not closed": "环未闭合",
}


def _finish_geometries(frame: gpd.GeoDataFrame, info: InputInfo) -> gpd.GeoDataFrame:
    """Flag empty, out-of-range and invalid geometries (repairing the latter for analysis)."""
    frame = frame.copy()
    geoms = frame.geometry.values
    open_ = frame["_status"].isna().to_numpy()
    empty = pd.isna(geoms) | shapely.is_empty(geoms)
    sel = empty & open_
    frame.loc[sel, "_status"] = "invalid_geometry"
    frame.loc[sel, "_message"] = "几何为空（没有坐标）"
    geoms = shapely.force_2d(geoms)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        out_of_range = ~empty & (
            (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
            | ~np.isfinite(bounds).all(axis=1)
        )
    sel = out_of_range & frame["_status"].isna().to_numpy()
    frame.loc[sel, "_status"] = "invalid_coordinates"
    frame.loc[sel, "_message"] = "坐标超出经纬度范围（坐标系是否正确？）"
    geoms = np.where(out_of_range, None, geoms)
    valid = shapely.is_valid(geoms)
    invalid = ~empty & ~out_of_range & ~valid
    if invalid.any():
        reasons = pd.Series(shapely.is_valid_reason(geoms[invalid]))
        kind = reasons.str.extract(r"^([A-Za-z \-]+)", expand=False).str.strip()
        xy = reasons.str.extract(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]")
        where = (
            pd.to_numeric(xy[0], errors="coerce").round(6).astype("string")
            + ", "
            + pd.to_numeric(xy[1], errors="coerce").round(6).astype("string")
        )
        zh = kind.map(_REASONS).fillna(kind)
        text = "几何无效：" + zh + np.where(where.notna(), "（位置 " + where.fillna("") + "）", "")
        text = text.astype(str)
        text = text + "；以下分析基于自动修复后的图形，请核对红线"
        idx = np.flatnonzero(invalid)
        still_open = frame["_status"].isna().to_numpy()[idx]
        frame.loc[frame.index[idx[still_open]], "_status"] = "invalid_geometry"
        frame.loc[frame.index[idx[still_open]], "_message"] = text.to_numpy()[still_open]
        geoms[idx] = shapely.make_valid(geoms[idx])
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=STORAGE_CRS))
    return frame


def _whole(frame: gpd.GeoDataFrame, info: InputInfo, explicit: dict) -> SiteReader:
    columns = [str(c) for c in frame.columns if c not in INTERNAL_COLUMNS and c != "geometry"]
    for key, attr in (
        ("name_col", "name_col"),
        ("category_col", "category_col"),
        ("town_col", "town_col"),
    ):
        col = explicit.get(key)
        if col is not None:
            if col not in columns:
                raise InputError(
                    f"{info.source}: 找不到列 {col!r}（--{key.replace('_', '-')}）；"
                    f"文件中的列为 {columns} / unknown column {col!r}"
                )
            setattr(info, attr, col)
    for key in ("lon_col", "lat_col"):
        if explicit.get(key) is not None:
            raise InputError(
                f"{info.source}: 矢量文件自带几何，不需要 --{key.replace('_', '-')} / "
                f"a vector file has its own geometry: drop --{key.replace('_', '-')}"
            )
    if info.name_col is None:
        info.name_col = _find(columns, _NAME) or _find_contains(columns, ("名称",))
    if info.category_col is None:
        info.category_col = _find(columns, _CATEGORY)
    if info.town_col is None:
        info.town_col = _find(columns, _TOWN)
    renamed = _renames(columns)
    frame = frame.rename(columns=renamed)
    info.renamed = renamed
    info.columns = [renamed.get(c, c) for c in columns]
    for attr in ("name_col", "category_col", "town_col"):
        if getattr(info, attr) in renamed:
            setattr(info, attr, renamed[getattr(info, attr)])
    info.rows = len(frame)
    return SiteReader(info, lambda size: _slices(frame, size))

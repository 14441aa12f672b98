"""The site check on Dask for very large point sets: partitioned GeoParquet/CSV in, GeoParquet out.

``wuzhong-geo check INPUT --engine dask [--scheduler ADDRESS] [--partitions N]`` runs here, with
dask-geopandas on ``dask.distributed``: a local cluster of two worker processes by default, or an
existing cluster by address.  Every partition is read by the in-memory engine's reader
(:func:`wuzhong_geo.inputs.open_input`, with the columns and CRS resolved once on the client) and
numbered with the same ``row_id`` (from 1, in input order), so a row gets the same answer on
either engine.

Two modes:

* ``points`` (default): the columns of :func:`wuzhong_geo.classify.classify_points` plus
  ``row_id``, the input's columns, ``coordinates_swapped`` and ``wgs84_lon``/``wgs84_lat``.
  ``message`` is only filled for rows the reader rejects.  Not computed (listed in
  ``summary.json`` under ``omitted``): nearest infrastructure, Taihu-shore and district
  distances, rule flags, located-row messages, report.  Rows that are lines or polygons get
  ``invalid_geometry`` (use ``--engine memory`` for them).
* ``full``: every partition runs :func:`wuzhong_geo.check.check_chunk`, the in-memory engine's own
  code, so every column equals ``results.gpkg`` of ``--engine memory`` (about 100 µs per row).

Workers apply the client's official boundaries and zone rules (paths must be readable on the
workers: a shared file system on a remote cluster) and build their own lookup; the check context
(a few hundred KB) is sent once.  Output: ``points/part.N.parquet`` (GeoParquet, EPSG:4326) and
``summary.json`` with the same ``counts`` as the in-memory engine's.
"""

from __future__ import annotations

import csv
import glob
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dask
import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from wuzhong_geo import check, classify, inputs, layers, pipeline
from wuzhong_geo.columns import result_column_names
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.style import MANAGEMENT_ZONES, SUBREGIONS, ZONES
from wuzhong_geo.textio import detect_encoding

log = logging.getLogger(__name__)

#: Worker processes of the local cluster started when no scheduler address is given.
LOCAL_WORKERS = 2
#: ``mode`` values.
MODES = ("points", "full")
#: Every status a row can get (the in-memory engine's set).
STATUSES = (*classify.STATUSES, "invalid_geometry")
#: ``points`` mode: result columns after ``row_id`` and the input's own columns (then geometry).
POINT_COLUMNS = ("status", "message", *classify.UNIT_COLUMNS, "coordinates_swapped", "wgs84_lon", "wgs84_lat")
#: What ``points`` mode leaves out compared with the in-memory engine.
OMITTED_IN_POINTS_MODE = (
    "nearest infrastructure (nearest_*, dist_*_m)", "taihu_shore_m, district_distance_m",
    "rule flags (rule_category, flags, flag_level, flag_notes, town_match)",
    "messages of located rows", "polygon/line overlay", "results.csv/.xlsx/.gpkg, report.html",
)
OMITTED_IN_FULL_MODE = ("zone_parts table (buffered points)", "results.csv/.xlsx/.gpkg, report.html")

_POINT_ONLY = ("Dask 引擎（points 模式）只核查点；线、面请用 --engine memory / "
               "the Dask engine (points mode) checks points only: use --engine memory for lines and polygons")
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


@dataclass(frozen=True)
class _Job:
    """Everything a partition needs, decided once on the client and sent once to each worker."""

    mode: str
    read_options: dict          # explicit columns and CRS for inputs.open_input
    info: inputs.InputInfo      # the client's reading of the input (column roles after renaming)
    boundaries: str | None
    zone_rules: str | None
    source_format: str          # csv | parquet | geoparquet
    context: object | None      # full mode: context.CheckContext (layers, trees, rules)
    units: gpd.GeoDataFrame | None  # points mode: classify.unit_polygons() of the client


# --- cluster --------------------------------------------------------------------------------------

@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = LOCAL_WORKERS) -> Iterator:
    """Yield a ``distributed.Client`` to ``scheduler``, or to a new local cluster of worker processes."""
    from distributed import Client, LocalCluster

    # distributed logs every worker start and stop at INFO; show them only with --verbose.
    dist_log = logging.getLogger("distributed")
    level = dist_log.level
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        dist_log.setLevel(logging.WARNING)
    try:
        yield from _clients(scheduler, n_workers, Client, LocalCluster)
    finally:
        dist_log.setLevel(level)


def _clients(scheduler: str | None, n_workers: int, Client, LocalCluster) -> Iterator:
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"无法连接 Dask 调度器 {scheduler!r} / cannot reach the Dask scheduler: {exc}. "
                             "Check the address (tcp://host:8786), or omit --scheduler for a local cluster."
                             ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # any free port: never clash with a running one
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# --- input ----------------------------------------------------------------------------------------

def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "csv" if suffix in _CSV_SUFFIXES else "parquet" if suffix in _PARQUET_SUFFIXES else None


def input_files(source: str | Path) -> list[Path]:
    """The files of a partitioned input: a file, a folder of files, or a glob pattern."""
    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"找不到输入 / input not found: {path}")
        files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p)) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{source}: 没有 CSV 或 Parquet 文件 / no CSV or Parquet files found")
    kinds = {_kind(p) for p in files}
    if len(kinds) != 1 or None in kinds:
        raise InputError(
            f"{source}: Dask 引擎读取分区 GeoParquet 或 CSV（同一类型）/ the Dask engine reads partitioned "
            f"GeoParquet, Parquet or CSV files of one kind, not {sorted({p.suffix for p in files})}; "
            "use --engine memory for XLSX, GPKG, Shapefile or GeoJSON")
    return files


def _sniff(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        sample = "".join(f.readline() for _ in range(30))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def read_input(source: str | Path, partitions: int | None = None, encoding: str | None = None) -> dd.DataFrame:
    """Open partitioned GeoParquet (dask-geopandas), Parquet or CSV (all columns as text) lazily."""
    files = input_files(source)
    if _kind(files[0]) == "parquet":
        is_geo = b"geo" in (pq.read_schema(files[0]).metadata or {})
        names = [str(p) for p in files]
        frame = dask_geopandas.read_parquet(names) if is_geo else dd.read_parquet(names)
        return frame.repartition(npartitions=partitions) if partitions else frame
    encoding = encoding or detect_encoding(files[0])
    total = sum(p.stat().st_size for p in files)
    blocksize = max(math.ceil(total / partitions), 1 << 16) if partitions else "64MB"
    # Text, as the in-memory reader reads CSV: DMS strings and the like stay intact.
    return dd.read_csv([str(p) for p in files], sep=_sniff(files[0], encoding), encoding=encoding,
                       dtype=str, blocksize=blocksize, skipinitialspace=True)


# --- per partition ----------------------------------------------------------------------------------

def _active_zone_rules() -> str | None:
    value = layers.active_zone_rules()
    return str(value) if value else None


def _sync_layers(boundaries: str | None, zone_rules: str | None) -> None:
    """Make this worker's layers match the client's (a no-op when they already do)."""
    current = layers.active_boundaries()
    if (str(current) if current else None) != boundaries:
        layers.use_boundaries(boundaries)
    if _active_zone_rules() != zone_rules:
        layers.use_zone_rules(zone_rules)


def _read_sites(frame: pd.DataFrame, first_row_id: int, job: _Job) -> gpd.GeoDataFrame:
    """Read one partition exactly as the in-memory engine reads a chunk; number its rows."""
    frame = frame.reset_index(drop=True)
    data_cols = [c for c in frame.columns if c != "geometry"]
    if len(frame) and (isinstance(frame, gpd.GeoDataFrame) or not frame[data_cols].dropna(how="all").empty):
        sites = inputs.open_input(frame, **job.read_options).read()
    else:
        # The reader refuses a table without values; such rows simply have no coordinates.
        renamed = {c: job.info.renamed.get(str(c), str(c)) for c in data_cols}
        sites = gpd.GeoDataFrame(frame[data_cols].rename(columns=renamed),
                                 geometry=gpd.GeoSeries([None] * len(frame), crs=STORAGE_CRS))
        sites.insert(0, "row_id", np.arange(1, len(frame) + 1, dtype=np.int64))
        for col, value in (("_status", "invalid_coordinates"), ("_message", "坐标缺失或无法解析"),
                           ("_notes", ""), ("_swapped", False), ("_dms", False), ("_source_crs", "")):
            sites[col] = value
    sites["row_id"] = sites["row_id"].to_numpy() + (first_row_id - 1)
    return sites


def check_partition(frame: pd.DataFrame, first_row_id: int, job: _Job) -> gpd.GeoDataFrame:
    """Check one partition (``first_row_id``: the row_id of its first row)."""
    sites = _read_sites(frame, first_row_id, job)
    if job.mode == "full":
        _sync_layers(job.boundaries, job.zone_rules)  # check_chunk classifies with the worker's layers
        result, _zone_parts = check.check_chunk(sites, job.context, job.info)
        return _stable_types(result)
    return _classify_sites(sites, job.units)


def _stable_types(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Object columns to text, so every partition has the same Parquet schema."""
    out = frame.copy()
    for col in out.columns:
        if col != "geometry" and (out[col].dtype == object or isinstance(out[col].dtype, pd.CategoricalDtype)):
            out[col] = out[col].astype("string")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def _classify_sites(sites: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``points`` mode: the in-memory engine's point logic without distances, flags and messages."""
    n = len(sites)
    geoms = np.asarray(sites.geometry.values, dtype=object)
    present = ~pd.isna(geoms)
    is_point = present & (shapely.get_type_id(np.where(present, geoms, None)) == 0)
    pre_status = sites["_status"].to_numpy(dtype=object)
    message = sites["_message"].astype("string").fillna("").to_numpy(dtype=object).copy()
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[is_point] = shapely.get_x(geoms[is_point])
    lat[is_point] = shapely.get_y(geoms[is_point])
    todo = pd.isna(pre_status) & is_point
    found = classify.classify_points(lon[todo], lat[todo], units=units)

    codes = pd.Categorical(np.where(pd.isna(pre_status), None, pre_status), categories=list(STATUSES)).codes.copy()
    codes[todo] = found["status"].cat.codes.to_numpy()  # classify's statuses come first in STATUSES
    other = pd.isna(pre_status) & ~is_point
    codes[other & present] = STATUSES.index("invalid_geometry")
    codes[other & ~present] = STATUSES.index("invalid_coordinates")
    message[other & present] = _POINT_ONLY
    message[todo] = ""
    out = pd.DataFrame({"row_id": sites["row_id"].to_numpy(dtype=np.int64)})
    own = [c for c in sites.columns if c not in inputs.INTERNAL_COLUMNS and c not in ("geometry", "row_id")]
    for col in own:
        out[col] = sites[col].reset_index(drop=True)
    out["status"] = pd.Categorical.from_codes(codes, categories=list(STATUSES))
    out["message"] = pd.array(message, dtype="string")
    where = np.flatnonzero(todo)
    for col in classify.UNIT_COLUMNS:
        unit = np.full(n, -1, dtype=np.int16)
        unit[where] = found[col].cat.codes.to_numpy()
        out[col] = pd.Categorical.from_codes(unit, dtype=found[col].dtype)
    out["coordinates_swapped"] = pd.array(sites["_swapped"].to_numpy(dtype=bool), dtype="boolean")
    # As the in-memory engine: the point itself, rounded to 1e-7° (about 1 cm).
    out["wgs84_lon"] = np.round(np.where(present & is_point, lon, np.nan), 7)
    out["wgs84_lat"] = np.round(np.where(present & is_point, lat, np.nan), 7)
    points = gpd.GeoSeries(np.where(present, geoms, None), crs=STORAGE_CRS)
    return gpd.GeoDataFrame(out, geometry=points, crs=STORAGE_CRS)


# --- summary ------------------------------------------------------------------------------------------

_COUNTED = {"status": "status", "functional_zone": "functional_zone", "town": "name",
            "management_zone": "management_zone", "subregion": "subregion", "flag_level": "flag_level",
            "geometry_type": "geometry_type", "rule_category": "rule_category"}


def _partition_counts(frame: pd.DataFrame) -> dict:
    """Counts of one partition, as the in-memory engine's summary counts its chunks."""
    counts: dict[str, dict] = {"rows": {"": len(frame)}}
    for key, col in _COUNTED.items():
        if col in frame:
            values = frame[col].astype("string").fillna("").value_counts()
            counts[key] = {str(k): int(v) for k, v in values.items() if k != "" or key == "flag_level"}
    if "flags" in frame:
        flags = frame["flags"].astype("string").fillna("")
        exploded = flags[flags != ""].str.split(";").explode()
        counts["flags"] = {str(k): int(v) for k, v in exploded.value_counts().items()}
    counts["swapped"] = {"": int(frame["coordinates_swapped"].fillna(False).sum())}
    return counts


def _ordered(counter: Counter, order: list[str] | None = None) -> dict:
    keys = [k for k in (order or []) if k in counter] + sorted(k for k in counter if k not in (order or []))
    if not order:
        keys = [k for k, _ in counter.most_common()]
    return {k: counter[k] for k in keys}


# --- the engine -----------------------------------------------------------------------------------------

def check_dask(
    source: str | Path,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    partitions: int | None = None,
    mode: str = "points",
    client=None,
    crs: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    category_col: str | None = None,
    town_col: str | None = None,
    buffer_m: float | None = None,
    rules=None,
    encoding: str | None = None,
) -> dict:
    """Check every row of a partitioned input on Dask; write ``points/`` and ``summary.json``.

    ``client`` reuses an open ``distributed.Client``; otherwise one is opened to ``scheduler`` or
    to a local cluster of two worker processes.  Returns the summary.
    """
    started = time.perf_counter()
    if mode not in MODES:
        raise InputError(f"mode 须为 {' | '.join(MODES)} / mode must be one of {MODES}, not {mode!r}")
    if partitions is not None and partitions < 1:
        raise InputError(f"--partitions 须为正整数 / must be a positive integer, not {partitions!r}")
    if buffer_m is not None and mode == "points":
        raise InputError("--buffer-m 需要完整核查：请用 --engine memory / points mode cannot buffer points: "
                         "use --engine memory (or mode='full')")
    frame = read_input(source, partitions, encoding)
    head = frame.head(1000, compute=True)
    if len(head) == 0:
        raise InputError(f"{source}: 没有数据行 / the input has no rows")
    read_options = {"crs": crs, "lon_col": lon_col, "lat_col": lat_col, "name_col": name_col,
                    "category_col": category_col, "town_col": town_col}
    # Points mode needs only the reader's decisions; full mode the whole check context.
    run = pipeline.open_check(head, buffer_m=buffer_m, rules=rules, **read_options) if mode == "full" else None
    read_options["reserved"] = result_column_names()
    info = run.info if run else inputs.open_input(head, **read_options).info
    back = {new: old for old, new in info.renamed.items()}
    if not isinstance(head, gpd.GeoDataFrame):
        read_options.update(lon_col=back.get(info.lon_col, info.lon_col),
                            lat_col=back.get(info.lat_col, info.lat_col))
    read_options.update(name_col=back.get(info.name_col, info.name_col),
                        category_col=back.get(info.category_col, info.category_col),
                        town_col=back.get(info.town_col, info.town_col))
    boundaries = layers.active_boundaries()
    source_format = ("csv" if isinstance(head, pd.DataFrame) and _kind(input_files(source)[0]) == "csv"
                     else "geoparquet" if isinstance(head, gpd.GeoDataFrame) else "parquet")
    job = _Job(mode=mode, read_options=read_options, info=info, source_format=source_format,
               boundaries=str(boundaries) if boundaries else None, zone_rules=_active_zone_rules(),
               context=run.context if run else None, units=None if run else classify.unit_polygons())
    if client is None:
        with dask_client(scheduler) as own:
            return _run(frame, head, job, own, source, Path(out_dir), scheduler, run, started)
    return _run(frame, head, job, client, source, Path(out_dir), scheduler, run, started)


def _row_counts(frame, files: list[Path]) -> np.ndarray:
    """Rows per partition: from the Parquet footers when partitions are the files, else counted."""
    if _kind(files[0]) == "parquet" and frame.npartitions == len(files):
        return np.array([pq.ParquetFile(f).metadata.num_rows for f in files], dtype=np.int64)
    columns = [c for c in frame.columns if c != "geometry"]
    light = frame[columns[:1]] if columns else frame
    return light.map_partitions(len, meta=(None, "int64")).compute().to_numpy()


def _check_and_write(frame: pd.DataFrame, lengths: np.ndarray, job: _Job, points_dir: str,
                     partition_info: dict | None = None) -> pd.DataFrame:
    """Check one partition, write it as ``part.N.parquet`` and return its counts (one pass)."""
    number = partition_info["number"] if partition_info else 0
    if len(frame) != lengths[number]:
        raise RuntimeError(f"partition {number} has {len(frame)} rows, counted {lengths[number]}")
    first_row_id = 1 + int(np.sum(lengths[:number]))
    result = check_partition(frame, first_row_id, job)
    result.to_parquet(Path(points_dir) / f"part.{number:05d}.parquet", index=False)
    counts = _partition_counts(result)
    rows = [(key, value, n) for key, values in counts.items() for value, n in values.items()]
    return pd.DataFrame(rows, columns=["key", "value", "count"]).astype(
        {"key": object, "value": object, "count": "int64"})


def _run(frame, head, job: _Job, client, source, out_dir: Path, scheduler, run, started: float) -> dict:
    timing = {}
    t = time.perf_counter()
    # row_id counts from 1 over the whole input, so the partitions' lengths come first.
    lengths = _row_counts(frame, input_files(source))
    timing["count_rows"] = time.perf_counter() - t

    out_dir.mkdir(parents=True, exist_ok=True)
    points_dir = out_dir / "points"
    points_dir.mkdir(exist_ok=True)
    for old in points_dir.glob("part.*.parquet"):
        old.unlink()
    t = time.perf_counter()
    job_key = dask.delayed(job, pure=True)  # one graph key: sent once per worker, not per task
    meta = pd.DataFrame({"key": pd.Series([], dtype=object), "value": pd.Series([], dtype=object),
                         "count": pd.Series([], dtype="int64")})
    # One pass: each task reads, checks and writes its partition and returns only its counts.
    table = frame.map_partitions(_check_and_write, lengths, job_key, str(points_dir), meta=meta,
                                 align_dataframes=False).compute()
    timing["check_and_write"] = time.perf_counter() - t
    counters: dict[str, Counter] = {}
    for (key, value), n in table.groupby(["key", "value"])["count"].sum().items():
        counters.setdefault(key, Counter())[value] = int(n)
    summary = _summary(counters, job, run, source, frame.npartitions, scheduler, client)
    summary["timing_s"] = {k: round(v, 2) for k, v in timing.items()}
    summary["timing_s"]["total"] = round(time.perf_counter() - started, 2)
    with open(out_dir / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2, default=str)
    return summary


def _summary(c: dict[str, Counter], job: _Job, run, source, n_parts: int, scheduler, client) -> dict:
    from wuzhong_geo.rules import SITE_STATUSES

    info = job.info.as_dict()
    rows = int(c.get("rows", Counter()).get("", 0))
    info["rows"] = rows
    info["source"] = str(source)
    info["format"] = job.source_format
    get = lambda key: c.get(key, Counter())
    counts = {
        "status": _ordered(get("status"), list(SITE_STATUSES)),
        "flag_level": _ordered(get("flag_level"), ["warning", "note", ""]),
        "flags": _ordered(get("flags"), [r.id for r in run.rules.rules] if run else None),
        "functional_zone": _ordered(get("functional_zone"), list(ZONES)),
        "subregion": _ordered(get("subregion"), list(SUBREGIONS)),
        "management_zone": _ordered(get("management_zone"), list(MANAGEMENT_ZONES)),
        "town": _ordered(get("town")),
        "geometry_type": _ordered(get("geometry_type"), ["point", "line", "polygon", ""]),
        "rule_category": _ordered(get("rule_category"), list(run.rules.categories) if run else None),
    }
    if job.mode == "points":  # not computed; flag_level stays (empty) for the CLI's one-line report
        for key in ("flags", "geometry_type", "rule_category"):
            counts.pop(key)
    workers = len(client.scheduler_info().get("workers", {}))
    return {
        "tool": "wuzhong-geo check",
        "engine": "dask",
        "mode": job.mode,
        "generated_at": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "input": info,
        "options": {"rules": run.rules_path if run else None, "buffer_m": run.options.buffer_m if run else None},
        "boundaries": job.boundaries or "schematic",
        "zone_rules": job.zone_rules or "bundled",
        "rows": rows,
        "counts": counts,
        "coordinates": {"swapped": int(get("swapped").get("", 0))},
        "omitted": list(OMITTED_IN_POINTS_MODE if job.mode == "points" else OMITTED_IN_FULL_MODE),
        "dask": {"scheduler": scheduler or f"local cluster ({LOCAL_WORKERS} worker processes)",
                 "workers": workers, "partitions": n_parts},
        "outputs": ["points", "summary.json"],
    }

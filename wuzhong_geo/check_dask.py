"""The site check on Dask for very large point sets: partitioned GeoParquet/CSV in, GeoParquet out.

``wuzhong-geo check INPUT --engine dask [--scheduler ADDRESS] [--partitions N]`` runs here, with
dask-geopandas on ``dask.distributed``: a local cluster of two worker processes by default, or an
existing cluster by address (``dask scheduler`` / ``dask worker`` started as usual). Only reading
and writing differ from the in-memory engine: every partition is read by the same reader
(:func:`wuzhong_geo.inputs.open_input`, with the columns and CRS resolved once on the client),
numbered with the same ``row_id`` (from 1, in input order), and checked by the same per-chunk
function (:func:`wuzhong_geo.check.check_chunk`), so every column equals the in-memory result.

Workers apply the client's official boundaries and zone rules (paths must be readable on the
workers: a shared file system on a remote cluster); the check context (a few hundred KB) is sent
once. Output: ``points/part.N.parquet`` (GeoParquet, EPSG:4326) and ``summary.json`` with the
same ``counts`` as the in-memory engine's; the zone-part table of buffered points is not written.
"""

from __future__ import annotations

import csv
import glob
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from wuzhong_geo import check, inputs, pipeline
from wuzhong_geo.columns import result_column_names
from wuzhong_geo.context import CheckContext
from wuzhong_geo.outputs import prepare_for_files
from wuzhong_geo.outputs.summary import Counts, write_summary
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import detect_encoding

log = logging.getLogger(__name__)

#: Worker processes of the local cluster started when no scheduler address is given.
LOCAL_WORKERS = 2
#: What the Dask engine leaves out compared with the in-memory one.
OMITTED = ("zone_parts table (buffered points)", "results.csv/.xlsx/.gpkg, report.html")

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


@dataclass(frozen=True)
class _Job:
    """Everything a partition needs, decided once on the client and sent once to each worker."""

    read_options: dict          # explicit columns, CRS and reserved names for inputs.open_input
    info: inputs.InputInfo      # the client's reading of the input (column roles after renaming)
    source_format: str          # csv | parquet | geoparquet
    context: CheckContext       # layers, trees, rules (and which boundaries/zone rules)


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


def check_partition(frame: pd.DataFrame, first_row_id: int, job: _Job) -> tuple[gpd.GeoDataFrame, Counts]:
    """Check one partition (``first_row_id``: the row_id of its first row); return it and its counts."""
    sites = _read_sites(frame, first_row_id, job)
    job.context.sync_layers()  # check_chunk classifies with the worker's layers
    result, _zone_parts = check.check_chunk(sites, job.context, job.info)
    counts = Counts()
    counts.add(result)
    return prepare_for_files(result), counts


# --- the engine -----------------------------------------------------------------------------------------

def check_dask(
    source: str | Path,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    partitions: int | None = None,
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
    if partitions is not None and partitions < 1:
        raise InputError(f"--partitions 须为正整数 / must be a positive integer, not {partitions!r}")
    frame = read_input(source, partitions, encoding)
    head = frame.head(1000, compute=True)
    if len(head) == 0:
        raise InputError(f"{source}: 没有数据行 / the input has no rows")
    read_options = {"crs": crs, "lon_col": lon_col, "lat_col": lat_col, "name_col": name_col,
                    "category_col": category_col, "town_col": town_col}
    run = pipeline.open_check(head, buffer_m=buffer_m, rules=rules, **read_options)
    info = run.info
    back = {new: old for old, new in info.renamed.items()}
    if not isinstance(head, gpd.GeoDataFrame):
        read_options.update(lon_col=back.get(info.lon_col, info.lon_col),
                            lat_col=back.get(info.lat_col, info.lat_col))
    read_options.update(name_col=back.get(info.name_col, info.name_col),
                        category_col=back.get(info.category_col, info.category_col),
                        town_col=back.get(info.town_col, info.town_col), reserved=result_column_names())
    source_format = ("csv" if isinstance(head, pd.DataFrame) and _kind(input_files(source)[0]) == "csv"
                     else "geoparquet" if isinstance(head, gpd.GeoDataFrame) else "parquet")
    job = _Job(read_options=read_options, info=info, source_format=source_format, context=run.context)
    if client is None:
        with dask_client(scheduler) as own:
            return _run(frame, job, own, source, Path(out_dir), scheduler, run, started)
    return _run(frame, job, client, source, Path(out_dir), scheduler, run, started)


def _row_counts(frame, files: list[Path]) -> np.ndarray:
    """Rows per partition: from the Parquet footers when partitions are the files, else counted."""
    if _kind(files[0]) == "parquet" and frame.npartitions == len(files):
        return np.array([pq.ParquetFile(f).metadata.num_rows for f in files], dtype=np.int64)
    columns = [c for c in frame.columns if c != "geometry"]
    light = frame[columns[:1]] if columns else frame
    return light.map_partitions(len, meta=(None, "int64")).compute().to_numpy()


def _check_and_write(frame: pd.DataFrame, number: int, first_row_id: int, job: _Job, points_dir: str) -> Counts:
    """Check one partition, write it as ``part.N.parquet`` and return its counts (one pass)."""
    result, counts = check_partition(frame, first_row_id, job)
    result.to_parquet(Path(points_dir) / f"part.{number:05d}.parquet", index=False)
    return counts


def _run(frame, job: _Job, client, source, out_dir: Path, scheduler, run, started: float) -> dict:
    timing = {}
    t = time.perf_counter()
    # row_id counts from 1 over the whole input, so the partitions' lengths come first.
    lengths = _row_counts(frame, input_files(source))
    firsts = 1 + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    timing["count_rows"] = time.perf_counter() - t

    out_dir.mkdir(parents=True, exist_ok=True)
    points_dir = out_dir / "points"
    points_dir.mkdir(exist_ok=True)
    for old in points_dir.glob("part.*.parquet"):
        old.unlink()
    t = time.perf_counter()
    job_key = dask.delayed(job, pure=True)  # one graph key: sent once per worker, not per task
    # One pass: each task reads, checks and writes its partition and returns only its counts.
    tasks = [dask.delayed(_check_and_write)(part, i, int(firsts[i]), job_key, str(points_dir))
             for i, part in enumerate(frame.to_delayed())]
    parts = client.compute(tasks, sync=True)
    timing["check_and_write"] = time.perf_counter() - t
    counts = Counts()
    for part in parts:
        counts.merge(part)
    if counts.rows != int(lengths.sum()):
        raise RuntimeError(f"checked {counts.rows} rows, counted {int(lengths.sum())}")
    run.info.rows = counts.rows
    summary = pipeline.summarise(run, counts, outputs=["points", "summary.json"])
    summary["input"].update(source=str(source), format=job.source_format)
    workers = len(client.scheduler_info().get("workers", {}))
    summary.update(engine="dask", omitted=list(OMITTED),
                   dask={"scheduler": scheduler or f"local cluster ({LOCAL_WORKERS} worker processes)",
                         "workers": workers, "partitions": frame.npartitions})
    summary["timing_s"] = {k: round(v, 2) for k, v in timing.items()}
    summary["timing_s"]["total"] = round(time.perf_counter() - started, 2)
    write_summary(summary, out_dir / "summary.json")
    return summary

"""The site check on Dask for very large point sets: partitioned CSV/GeoParquet in, partitioned files out.

``wuzhong-geo check INPUT --engine dask [--scheduler ADDRESS] [--partitions N] [--formats ...]`` runs
here, on ``dask.distributed``: a local cluster of two worker processes by default, or an existing
cluster by address (``dask scheduler`` / ``dask worker`` started as usual). Only the split into
partitions differs from the in-memory engine:

* CSV/TSV/TXT: each file is cut into byte ranges at line ends; a worker reads its range with the
  in-memory reader's own record parser (:func:`wuzhong_geo.inputs.tables.parse_records`), so every
  physical row is one result with its ``row_id`` and a row with too many or too few fields is a
  ``malformed_row`` naming its line, exactly as ``--engine memory`` reports it. A file holding a
  quote character (a quoted field may span lines) is one partition: its rows stay exact.
* Parquet / GeoParquet: dask-geopandas partitions, read by :func:`wuzhong_geo.inputs.open_input`.

Columns, CRS and column roles are resolved once on the client, every partition is checked by
:func:`wuzhong_geo.check.check_chunk` (the in-memory engine's per-chunk function) and numbered from
1 in input order, so every column equals the in-memory result. Limits (:mod:`wuzhong_geo.limits`,
``--limit`` included) travel with the job: ``max_columns`` for the header, ``max_rows`` for the rows
one partition holds in a worker's memory.

Output, written all-or-nothing into ``--out`` (:func:`wuzhong_geo.outputs.folder.atomic_folder`; the
workers write into its temporary folder, which must be on storage they share with the client):
``parquet`` → ``points/part.N.parquet`` + ``zone_parts/part.N.parquet`` (GeoParquet), ``csv`` →
``results.csv`` (the parts joined after one header), ``html`` → ``report.html``, and
``summary.json``. ``gpkg`` and ``xlsx`` need the whole table in one writer: refused (:data:`UNSUPPORTED`).
"""

from __future__ import annotations

import csv
import glob
import io
import logging
import math
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import dask
import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from wuzhong_geo import check, coords, inputs, limits, pipeline
from wuzhong_geo.columns import result_column_names
from wuzhong_geo.context import CheckContext
from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs.tables import MALFORMED, parse_records, read_head, table_reader, text_layout
from wuzhong_geo.outputs import FORMAT_FILES
from wuzhong_geo.outputs.csvfile import CsvWriter
from wuzhong_geo.outputs.folder import atomic_folder
from wuzhong_geo.outputs.parquet import ParquetWriter
from wuzhong_geo.outputs.report import ReportData, render_report
from wuzhong_geo.outputs.summary import Counts, write_summary
from wuzhong_geo.outputs.table import ChunkData
from wuzhong_geo.settings import STORAGE_CRS
from wuzhong_geo.textio import check_encoding, detect_encoding

log = logging.getLogger(__name__)

#: Worker processes of the local cluster started when no scheduler address is given.
LOCAL_WORKERS = 2
#: Formats the Dask engine writes, and its default.
FORMATS = ("parquet", "csv", "html")
DEFAULT_FORMATS = ("parquet", "html")
#: Formats it refuses, and why.
UNSUPPORTED = {
    "gpkg": "GeoPackage 只能由一个进程顺序写入 / a GeoPackage has a single writer",
    "xlsx": "Excel 最多 1,048,576 行且只能由一个进程写入 / Excel holds 1,048,576 rows, written by one process",
}
#: Rows per chunk inside a partition (as the in-memory engine's default).
CHUNK_SIZE = pipeline.CHUNK_SIZE
#: Target bytes of a CSV partition when --partitions is not given.
BLOCK_BYTES = 64 << 20

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


@dataclass(frozen=True)
class _Range:
    """A byte range of one CSV file: whole lines, after the header."""

    path: str
    codec: str
    start: int
    end: int


@dataclass(frozen=True)
class _Job:
    """Everything a partition needs, decided once on the client and sent once to each worker."""

    read_options: dict          # explicit columns, CRS and reserved names for the reader
    info: inputs.InputInfo      # the client's reading of the input (column roles after renaming)
    context: CheckContext       # layers, trees, rules (and which boundaries/zone rules)
    limits: dict                # limits.snapshot() of the client (--limit reaches the workers)
    formats: tuple[str, ...]
    columns: list[str]          # result columns, in order
    folder: str                 # the output's temporary folder
    rows: int = 0               # rows of the whole input (sets the report map's sampling step)
    sep: str = ","
    header: tuple[str, ...] = ()


def choose_formats(value: str | None) -> tuple[str, ...]:
    """``--formats`` for the Dask engine: parquet, csv, html; InputError names gpkg/xlsx and why."""
    if value is None:
        return DEFAULT_FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    refused = [f for f in formats if f in UNSUPPORTED]
    if refused:
        why = "；".join(f"{f}：{UNSUPPORTED[f]}" for f in refused)
        raise InputError(
            f"--formats {value!r}: --engine dask 写出分区文件（parquet、csv、html），不写 {', '.join(refused)}（{why}）。"
            "请用 --engine memory，或从 points/ 转换 / --engine dask writes partitioned outputs (parquet, csv, html), "
            f"not {', '.join(refused)}: use --engine memory, or convert points/ afterwards")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(f"--formats: 未知格式 {unknown} / unknown formats; --engine dask writes {', '.join(FORMATS)}")
    return formats


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
        except (OSError, TimeoutError, ValueError) as exc:
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


# --- input files ----------------------------------------------------------------------------------

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


def _data_start(path: Path, skip: int) -> int:
    """Byte offset of the first line after the header (``skip`` title lines, then the header)."""
    with open(path, "rb") as f:
        for _ in range(skip + 1):
            f.readline()
        return f.tell()


def _line_end_after(f, offset: int, size: int) -> int:
    """The offset just after the first ``\\n`` at or after ``offset`` (``size`` if none)."""
    f.seek(offset)
    while True:
        block = f.read(1 << 16)
        if not block:
            return size
        found = block.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(block)


def _has_quote(path: Path, start: int) -> bool:
    with open(path, "rb") as f:
        f.seek(start)
        return any(b'"' in block for block in iter(lambda: f.read(1 << 22), b""))


def csv_ranges(files: list[Path], codecs_: list[str], skips: list[int], partitions: int | None) -> list[_Range]:
    """Cut the files' data into byte ranges of whole lines (``partitions`` in all, or ~64 MB each).

    A range ends just after a newline; a file holding a quote character stays one range, since a
    quoted field may hold a newline that is not a record's end.
    """
    starts = [_data_start(p, s) for p, s in zip(files, skips)]
    sizes = [p.stat().st_size for p in files]
    total = max(sum(z - s for z, s in zip(sizes, starts)), 1)
    block = math.ceil(total / partitions) if partitions else BLOCK_BYTES
    ranges = []
    for path, codec, start, size in zip(files, codecs_, starts, sizes):
        codec = "utf-8" if codec == "utf-8-sig" else codec  # the BOM is before the header
        if start >= size:
            continue
        if _has_quote(path, start):
            ranges.append(_Range(str(path), codec, start, size))
            continue
        with open(path, "rb") as f:
            offset = start
            while offset < size:
                end = _line_end_after(f, min(offset + block, size) - 1, size) if offset + block < size else size
                ranges.append(_Range(str(path), codec, offset, end))
                offset = end
    return ranges


def _range_reader(rng: _Range, sep: str):
    with open(rng.path, "rb") as f:
        f.seek(rng.start)
        data = f.read(rng.end - rng.start)
    try:
        text = data.decode(rng.codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{Path(rng.path).name}: 不能按 {rng.codec} 解码（数据第 {line} 行附近）/ cannot decode "
                         f"as {rng.codec} (data line {line} of a partition); pass --encoding") from None
    return csv.reader(io.StringIO(text, newline=""), delimiter=sep)


def count_range(rng: _Range, sep: str, limit_values: dict) -> tuple[int, int]:
    """(records, lines) of a range, as the reader counts them; InputError past ``max_rows``."""
    with limits.applied(limit_values):
        reader = _range_reader(rng, sep)
        count = 0
        try:
            count = sum(1 for r in reader if r and not (len(r) == 1 and not r[0].strip()))
        except csv.Error:
            pass  # the check pass, which knows the range's first line number, refuses it naming the line
        limits.check("max_rows", count, f"{Path(rng.path).name} 的一个分区 / one partition of "
                                        f"{Path(rng.path).name} (more --partitions)")
        return count, reader.line_num


# --- per partition ----------------------------------------------------------------------------------

class _PartWriter:
    """One partition's files inside the output's temporary folder, and its report data."""

    def __init__(self, job: _Job, number: int):
        folder = Path(job.folder)
        self.points = self.parts = self.csv = self.report = None
        if "parquet" in job.formats:
            self.points = ParquetWriter(folder / "points" / f"part.{number:05d}.parquet")
            self.parts = ParquetWriter(folder / "zone_parts" / f"part.{number:05d}.parquet")
        if "csv" in job.formats:
            self.csv = CsvWriter(folder / "csv" / f"part.{number:05d}.csv",
                                 [c for c in job.columns if c != "geometry"], header=False)
        if "html" in job.formats:
            self.report = ReportData(name_col=job.info.name_col, expected_rows=job.rows)
        self.counts = Counts()

    def add(self, result: gpd.GeoDataFrame, zone_parts: gpd.GeoDataFrame) -> None:
        self.counts.add(result)
        chunk = ChunkData.of(result)  # converted once, as the in-memory writers do
        if self.points is not None:
            self.points.append(chunk.table, chunk.wkb, result.crs)
            if len(zone_parts):
                parts = ChunkData.of(zone_parts)
                self.parts.append(parts.table, parts.wkb, result.crs)
        if self.csv is not None:
            self.csv.append(chunk.table)
        if self.report is not None:
            self.report.add(result)

    def close(self) -> tuple[Counts, ReportData | None]:
        for writer in (self.points, self.parts, self.csv):
            if writer is not None:
                writer.close()
        return self.counts, self.report


def _check_sites(chunks: Iterator[gpd.GeoDataFrame], first_row_id: int, job: _Job, number: int
                 ) -> tuple[Counts, ReportData | None]:
    job.context.sync_layers()  # check_chunk classifies with the worker's layers
    writer = _PartWriter(job, number)
    for sites in chunks:
        sites["row_id"] = sites["row_id"].to_numpy() + (first_row_id - 1)
        result, zone_parts = check.check_chunk(sites, job.context, job.info)
        writer.add(result, zone_parts)
    return writer.close()


def check_range(rng: _Range, number: int, first_row_id: int, first_line: int, job: _Job
                ) -> tuple[Counts, ReportData | None]:
    """Read, check and write one CSV range (its first line is line ``first_line`` of its file)."""
    with limits.applied(job.limits):
        reader = _range_reader(rng, job.sep)
        frames = parse_records(reader, list(job.header), CHUNK_SIZE, line_offset=first_line - 1,
                               source=Path(rng.path).name)
        first = next(frames)
        if not len(first):
            return _check_sites(iter(()), first_row_id, job, number)
        info = inputs.InputInfo(source=Path(rng.path).name, format="csv", encoding=rng.codec)
        empty = first.head(0).drop(columns=MALFORMED)

        def chunks(size: int) -> Iterator[pd.DataFrame]:
            yield first
            yield from frames

        spec = coords.parse_crs(job.read_options["crs"]) if job.read_options["crs"] else None
        explicit = {k: v for k, v in job.read_options.items() if k != "crs"}
        sites = table_reader(chunks, empty, len(first) + 1, spec, info, explicit,
                             first=first.drop(columns=MALFORMED).head(1000))
        return _check_sites(sites.chunks(CHUNK_SIZE), first_row_id, job, number)


def check_frame(frame: pd.DataFrame, number: int, first_row_id: int, job: _Job) -> tuple[Counts, ReportData | None]:
    """Read, check and write one (Geo)Parquet partition."""
    with limits.applied(job.limits):
        limits.check("max_rows", len(frame), "Parquet 的一个分区 / one Parquet partition (more --partitions)")
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
        return _check_sites(iter([sites]) if len(sites) else iter(()), first_row_id, job, number)


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
    formats: str | None = None,
) -> dict:
    """Check every row of a partitioned input on Dask; write the chosen formats into ``out_dir``.

    ``client`` reuses an open ``distributed.Client``; otherwise one is opened to ``scheduler`` or
    to a local cluster of two worker processes. Raises InputError before any work for bad input;
    ``out_dir`` is replaced all-or-nothing. Returns the summary.
    """
    started = time.perf_counter()
    if partitions is not None and partitions < 1:
        raise InputError(f"--partitions 须为正整数 / must be a positive integer, not {partitions!r}")
    chosen = choose_formats(formats)
    if encoding is not None:
        check_encoding(encoding)
    files = input_files(source)
    read_options = {"crs": crs, "lon_col": lon_col, "lat_col": lat_col, "name_col": name_col,
                    "category_col": category_col, "town_col": town_col}
    options = {"buffer_m": buffer_m, "rules": rules}
    if _kind(files[0]) == "csv":
        plan = _open_csv(files, encoding, partitions, read_options, options)
    else:
        plan = _open_parquet(files, partitions, read_options, options)
    if client is None:
        with dask_client(scheduler) as own:
            return _run(plan, chosen, own, source, Path(out_dir), scheduler, started)
    return _run(plan, chosen, client, source, Path(out_dir), scheduler, started)


@dataclass
class _Plan:
    run: pipeline.CheckRun
    read_options: dict
    source_format: str
    ranges: list[_Range] | None = None       # CSV
    skips: dict | None = None                # CSV: title lines above each file's header, by path
    frame: dd.DataFrame | None = None         # Parquet
    sep: str = ","
    header: tuple[str, ...] = ()


def _open_csv(files: list[Path], encoding, partitions, read_options: dict, options: dict) -> _Plan:
    """Decide the encoding, delimiter and header of every file; open the first range on the client."""
    explicit = {k: v for k, v in read_options.items() if k != "crs"}
    layouts, codecs_ = [], []
    for path in files:
        if path.stat().st_size == 0:
            raise InputError(f"{path.name}: 文件为空 / the file is empty")
        codec = encoding or detect_encoding(path)
        if codec.replace("-", "").startswith("utf16"):
            raise InputError(f"{path.name}: UTF-16 文本不能按行分区，请另存为 UTF-8 或用 --engine memory / a UTF-16 "
                             "file cannot be split at line ends: save it as UTF-8 or use --engine memory")
        layouts.append(text_layout(path, codec, read_head(path, codec), explicit))
        codecs_.append(codec)
    sep, _, header = layouts[0]
    for path, (other_sep, _, other_header) in zip(files[1:], layouts[1:]):
        if (other_sep, other_header) != (sep, header):
            raise InputError(f"{path.name}: 表头或分隔符与 {files[0].name} 不同，分区文件须同一表头 / its header or "
                             f"delimiter differs from {files[0].name}'s: the parts of one input share one header")
    ranges = csv_ranges(files, codecs_, [s for _, s, _ in layouts], partitions)
    # The client reads the first 1,000 rows as the in-memory reader would, to resolve the columns.
    head = _first_rows(files, codecs_, [s for _, s, _ in layouts], sep, header)
    info = inputs.InputInfo(source=files[0].name if len(files) == 1 else f"{files[0].parent.name}/ ({len(files)} files)",
                            format="csv", encoding=codecs_[0])
    spec = coords.parse_crs(read_options["crs"]) if read_options["crs"] else None
    reader = table_reader(lambda size: iter([head]), head.head(0).drop(columns=MALFORMED), max(len(head), 1), spec,
                          info, {**explicit, "reserved": tuple(result_column_names())},
                          first=head.drop(columns=MALFORMED))
    run = pipeline.open_check(None, reader=reader, **options)
    return _Plan(run=run, read_options=_resolved(read_options, run.info, table=True), source_format="csv",
                 ranges=ranges, skips={str(p): s for p, (_, s, _) in zip(files, layouts)}, sep=sep,
                 header=tuple(header))


def _first_rows(files, codecs_, skips, sep, header) -> pd.DataFrame:
    """Up to 1,000 records from the first file that has data (for resolving the columns)."""
    for path, codec, skip in zip(files, codecs_, skips):
        with open(path, encoding=codec, newline="") as f:
            for _ in range(skip + 1):
                f.readline()
            frame = next(parse_records(csv.reader(f, delimiter=sep), header, 1000, line_offset=skip + 1,
                                       source=path.name))
        if len(frame):
            return frame
    raise InputError(f"{files[0].name}: 只有表头，没有数据行 / the file has a header but no data rows")


def _open_parquet(files: list[Path], partitions, read_options: dict, options: dict) -> _Plan:
    is_geo = b"geo" in (pq.read_schema(files[0]).metadata or {})
    names = [str(p) for p in files]
    try:
        frame = dask_geopandas.read_parquet(names) if is_geo else dd.read_parquet(names)
    except (OSError, ValueError) as exc:
        raise InputError(f"{files[0].name}: 无法读取 Parquet / cannot read the Parquet files ({exc})") from None
    limits.check("max_columns", len(frame.columns), files[0].name)
    frame = frame.repartition(npartitions=partitions) if partitions else frame
    head = frame.head(1000, compute=True)
    if len(head) == 0:
        raise InputError(f"{files[0].name}: 没有数据行 / the input has no rows")
    run = pipeline.open_check(head, **read_options, **options)
    fmt = "geoparquet" if isinstance(head, gpd.GeoDataFrame) else "parquet"
    return _Plan(run=run, read_options=_resolved(read_options, run.info, table=fmt == "parquet"),
                 source_format=fmt, frame=frame)


def _resolved(read_options: dict, info: inputs.InputInfo, table: bool) -> dict:
    """The client's column choices, in the input's own names, for every partition's reader."""
    back = {new: old for old, new in info.renamed.items()}
    resolved = dict(read_options)
    if table and info.lon_col:
        resolved.update(lon_col=back.get(info.lon_col, info.lon_col), lat_col=back.get(info.lat_col, info.lat_col))
    resolved.update(name_col=back.get(info.name_col, info.name_col),
                    category_col=back.get(info.category_col, info.category_col),
                    town_col=back.get(info.town_col, info.town_col), reserved=result_column_names())
    return resolved


def _parquet_row_counts(frame, files: list[Path]) -> np.ndarray:
    """Rows per partition: from the Parquet footers when partitions are the files, else counted."""
    if frame.npartitions == len(files):
        return np.array([pq.ParquetFile(f).metadata.num_rows for f in files], dtype=np.int64)
    columns = [c for c in frame.columns if c != "geometry"]
    light = frame[columns[:1]] if columns else frame
    return light.map_partitions(len, meta=(None, "int64")).compute().to_numpy()


def _run(plan: _Plan, formats, client, source, out_dir: Path, scheduler, started: float) -> dict:
    timing = {}
    run = plan.run
    t = time.perf_counter()
    with atomic_folder(out_dir) as folder:
        for sub in ("points", "zone_parts") if "parquet" in formats else ():
            (folder / sub).mkdir()
        if "csv" in formats:
            (folder / "csv").mkdir()
        job = _Job(read_options=plan.read_options, info=run.info, context=run.context, limits=limits.snapshot(),
                   formats=formats, columns=run.columns(), folder=str(folder), sep=plan.sep, header=plan.header)
        # row_id counts from 1 over the whole input, so the partitions' lengths come first.
        if plan.ranges is not None:
            counted = client.compute([dask.delayed(count_range)(r, plan.sep, job.limits) for r in plan.ranges],
                                     sync=True)
            lengths = np.array([c[0] for c in counted], dtype=np.int64)
            lines = np.array([c[1] for c in counted], dtype=np.int64)
            # the first line of each range: after its file's header and the ranges before it in that file
            first_lines, last = [], {}
            for rng, n_lines in zip(plan.ranges, lines):
                start = last.get(rng.path) or plan.skips[rng.path] + 2  # title lines, header, then data
                first_lines.append(start)
                last[rng.path] = start + int(n_lines)
        else:
            lengths = _parquet_row_counts(plan.frame, input_files(source))
        firsts = 1 + np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows = int(lengths.sum())
        if rows == 0:
            raise InputError(f"{source}: 只有表头，没有数据行 / the input has a header but no data rows")
        timing["count_rows"] = time.perf_counter() - t
        job = replace(job, rows=rows)
        t = time.perf_counter()
        # The job holds the check context (tens of MB with every layer): sent once to each worker.
        job_key = client.scatter(job, broadcast=True, hash=False)
        # One pass: each task reads, checks and writes its partition and returns its counts.
        if plan.ranges is not None:
            tasks = [dask.delayed(check_range)(r, i, int(firsts[i]), first_lines[i], job_key)
                     for i, r in enumerate(plan.ranges)]
        else:
            tasks = [dask.delayed(check_frame)(part, i, int(firsts[i]), job_key)
                     for i, part in enumerate(plan.frame.to_delayed())]
        parts = client.compute(tasks, sync=True)
        timing["check_and_write"] = time.perf_counter() - t
        counts, report = Counts(), None
        for part_counts, part_report in parts:
            counts.merge(part_counts)
            if part_report is not None:
                report = part_report if report is None else (report.merge(part_report) or report)
        if counts.rows != rows:
            raise RuntimeError(f"checked {counts.rows} rows, counted {rows}")
        run.info.rows = rows
        outputs = _finish_files(folder, formats, job.columns)
        summary = pipeline.summarise(run, counts, outputs=[*outputs, "summary.json",
                                                           *(["report.html"] if "html" in formats else [])])
        summary["input"].update(source=str(source), format=plan.source_format)
        workers = len(client.scheduler_info().get("workers", {}))
        summary.update(engine="dask", formats=list(formats), omitted=[f"{f}: {why}" for f, why in UNSUPPORTED.items()],
                       dask={"scheduler": scheduler or f"local cluster ({LOCAL_WORKERS} worker processes)",
                             "workers": workers, "partitions": len(tasks)})
        if report is not None:
            t = time.perf_counter()
            (folder / FORMAT_FILES["html"]).write_text(render_report(summary, report), encoding="utf-8")
            timing["html"] = time.perf_counter() - t
        summary["timing_s"] = {k: round(v, 2) for k, v in timing.items()}
        summary["timing_s"]["total"] = round(time.perf_counter() - started, 2)
        write_summary(summary, folder / "summary.json")
    return summary


def _finish_files(folder: Path, formats, columns: list[str]) -> list[str]:
    """Join the CSV parts after one header; drop empty zone-part files; list what was written."""
    written = []
    if "parquet" in formats:  # a partition without rows (or zone parts) writes no file
        written.append("points/")
        if any((folder / "zone_parts").iterdir()):
            written.append("zone_parts/")
        else:
            (folder / "zone_parts").rmdir()
    if "csv" in formats:
        target = folder / FORMAT_FILES["csv"]
        header = CsvWriter(target, [c for c in columns if c != "geometry"])
        header.append(pa.Table.from_pandas(
            pd.DataFrame({c: pd.Series(dtype="string") for c in columns if c != "geometry"}), preserve_index=False))
        header.close()
        with open(target, "ab") as out:
            for part in sorted((folder / "csv").glob("part.*.csv")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        shutil.rmtree(folder / "csv")
        written.append(FORMAT_FILES["csv"])
    return written

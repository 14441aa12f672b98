"""Writers of a site check's results: leaves that know nothing of rules.

:class:`ResultWriter` fans each checked chunk out to the chosen formats inside a folder (from
:func:`~wuzhong_geo.outputs.folder.atomic_folder`): ``csv`` results.csv, ``parquet``
results.parquet (GeoParquet; zone parts in zone_parts.parquet), ``gpkg`` results.gpkg (layers
``results`` and ``zone_parts``), ``xlsx`` results.xlsx, ``html`` report.html; then
:meth:`ResultWriter.close` renders the report. summary.json: :mod:`~wuzhong_geo.outputs.summary`. Each format is one module of this package.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import geopandas as gpd

from wuzhong_geo.errors import InputError
from wuzhong_geo.outputs import gpkg
from wuzhong_geo.outputs.csvfile import CsvWriter
from wuzhong_geo.outputs.parquet import ParquetWriter
from wuzhong_geo.outputs.report import ReportData, render_report
from wuzhong_geo.outputs.report import prepare as prepare_report
from wuzhong_geo.outputs.table import ChunkData
from wuzhong_geo.outputs.xlsx import XLSX_MAX_ROWS, ResultWorkbook, xlsx_too_many_rows

#: Output formats and their files.
FORMAT_FILES = {
    "csv": "results.csv",
    "parquet": "results.parquet",
    "gpkg": "results.gpkg",
    "xlsx": "results.xlsx",
    "html": "report.html",
}
#: Every file a check can write.
OUTPUT_FILES = (*FORMAT_FILES.values(), "zone_parts.parquet", "summary.json")
#: Inputs of more rows than this get :data:`LARGE_FORMATS` by default, smaller ones every format:
#: past it, XLSX and GPKG cost more time than the check itself and few open such files.
LARGE_INPUT_ROWS = 200_000
LARGE_FORMATS = ("csv", "parquet", "html")

__all__ = ["FORMAT_FILES", "OUTPUT_FILES", "ResultWriter", "choose_formats"]


def choose_formats(value: str | list[str] | tuple[str, ...] | None, rows: int) -> tuple[str, ...]:
    """``"csv,xlsx"`` or a list to known formats; None: every format, or LARGE_FORMATS past
    LARGE_INPUT_ROWS. InputError for unknown formats and for XLSX beyond Excel's row limit."""
    if value is None:
        return tuple(FORMAT_FILES) if rows <= LARGE_INPUT_ROWS else LARGE_FORMATS
    items = value.split(",") if isinstance(value, str) else list(value)
    formats = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in formats if f not in FORMAT_FILES]
    if unknown or not formats:
        raise InputError(
            f"--formats: 未知格式 {unknown} / unknown formats; choose from {', '.join(FORMAT_FILES)}"
        )
    if "xlsx" in formats and rows > XLSX_MAX_ROWS:
        raise InputError(xlsx_too_many_rows(rows))
    return formats


class _Lane:
    """One output's work, in order, on a thread of its own: Arrow, GDAL and zlib run without the GIL,
    so the files of one chunk are written while the next chunk is checked (and while each other is).

    At most one piece of work waits per lane, which bounds the memory held for writing.
    """

    def __init__(self, name: str, timing: dict[str, float]):
        self.name = name
        self.timing = timing
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{name}")
        self._pending: Future | None = None

    def _timed(self, work: Callable[[], None]) -> None:
        t, cpu = time.perf_counter(), time.thread_time()
        try:
            work()
        finally:
            self.timing[self.name] += time.perf_counter() - t
            self.timing[f"{self.name}_cpu"] += time.thread_time() - cpu

    def submit(self, work: Callable[[], None]) -> None:
        """Run ``work`` after this lane's previous work (whose error, if any, is raised here)."""
        self.wait()
        self._pending = self._pool.submit(self._timed, work)

    def wait(self) -> None:
        """Wait for the lane's work; re-raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def shutdown(self) -> None:
        """Wait for the running work (errors ignored: the run is failing already) and stop the thread."""
        try:
            self.wait()
        except BaseException:  # noqa: BLE001 - the caller is already handling the first error
            pass
        self._pool.shutdown(wait=True)


class ResultWriter:
    """Write result chunks to ``folder`` in ``formats``; ``timing`` holds seconds per format.

    Each format is written on a thread of its own (:class:`_Lane`), so :meth:`add` returns as soon as
    the chunk is converted; :meth:`close` waits for every file (and raises the first error).
    """

    def __init__(
        self, folder: Path, columns: list[str], formats=tuple(FORMAT_FILES), name_col=None, rows: int = 0
    ):
        self.folder = Path(folder)
        self.columns = list(columns)
        self.formats = tuple(formats)
        self.table_columns = [c for c in self.columns if c != "geometry"]
        # seconds per format (wall, on its thread) and its thread's CPU seconds (``<format>_cpu``)
        self.timing = {key: 0.0 for f in self.formats for key in (f, f"{f}_cpu")}
        self.timing["write_wait"] = 0.0
        self._lanes = {f: _Lane(f, self.timing) for f in self.formats}
        self._csv = CsvWriter(self.folder / FORMAT_FILES["csv"], self.table_columns) if "csv" in self.formats else None
        # before the lanes start their threads (the report's below): the GeoPackage writer may fork
        self._gpkg = gpkg.open_writer(self.folder / FORMAT_FILES["gpkg"]) if "gpkg" in self.formats else None
        self._parquet = None
        self._parts_parquet = None
        if "parquet" in self.formats:
            self._parquet = ParquetWriter(self.folder / FORMAT_FILES["parquet"])
            self._parts_parquet = ParquetWriter(self.folder / "zone_parts.parquet")
        self._xlsx = (
            ResultWorkbook(self.folder / FORMAT_FILES["xlsx"], self.columns) if "xlsx" in self.formats else None
        )
        self._report = ReportData(name_col=name_col, expected_rows=rows) if "html" in self.formats else None
        self._parts_written = False
        if self._report is not None:
            self._submit("html", prepare_report)  # Pillow's import overlaps the first chunk's check

    def _submit(self, fmt: str, work: Callable[[], None]) -> None:
        t = time.perf_counter()
        self._lanes[fmt].submit(work)
        self.timing["write_wait"] += time.perf_counter() - t

    def add(self, sites: gpd.GeoDataFrame, zone_parts: gpd.GeoDataFrame) -> None:
        """Hand one chunk of results and its zone parts to the writers."""
        if self._xlsx is not None:
            self._xlsx.count(len(sites))  # past Excel's limit: refused here, before any more work
        chunk = ChunkData.of(sites)
        parts = ChunkData.of(zone_parts) if len(zone_parts) else None
        self._parts_written |= parts is not None and self._parquet is not None
        if self._report is not None:
            self._submit("html", partial(self._report.add, chunk.sites))
        if self._csv is not None:
            self._submit("csv", partial(self._add_csv, chunk))
        if self._parquet is not None:
            self._submit("parquet", partial(self._add_parquet, chunk, parts, sites.crs))
        if self._gpkg is not None:
            self._submit("gpkg", partial(self._add_gpkg, chunk, parts))
        if self._xlsx is not None:
            self._submit("xlsx", partial(self._add_xlsx, chunk, parts))

    def _add_csv(self, chunk: ChunkData) -> None:
        self._csv.append(chunk.text_table)

    def _add_parquet(self, chunk: ChunkData, parts: ChunkData | None, crs) -> None:
        self._parquet.append(chunk.table, chunk.wkb, crs)
        if parts is not None:
            self._parts_parquet.append(parts.table, parts.wkb, crs)

    def _add_gpkg(self, chunk: ChunkData, parts: ChunkData | None) -> None:
        for layer, data in (("results", chunk), ("zone_parts", parts)):
            if data is not None:
                self._gpkg.append(layer, data.table, data.sites.geometry.values, data.sites.crs, data.wkb)

    def _add_xlsx(self, chunk: ChunkData, parts: ChunkData | None) -> None:
        self._xlsx.append(chunk.text_table, parts.text_table if parts else None)

    def close(self, summary: dict) -> None:
        """Finish every file and render the report from ``summary`` (summary.json is the caller's)."""
        # each submission waits for its lane's last chunk: the lanes with the most work left after
        # their chunks go first (the report's rendering, GPKG's buffered write), XLSX's long chunk last
        if self._report is not None:
            self._submit("html", partial(self._write_report, summary))
        if self._gpkg is not None:
            self._submit("gpkg", self._gpkg.close)
        if self._csv is not None:
            self._submit("csv", self._csv.close)
        if self._parquet is not None:
            self._submit("parquet", self._close_parquet)
        if self._xlsx is not None:
            self._submit("xlsx", self._xlsx.close)
        t = time.perf_counter()
        try:
            for lane in self._lanes.values():
                lane.wait()
        finally:
            self.timing["write_wait"] += time.perf_counter() - t
            for lane in self._lanes.values():
                lane.shutdown()
        if self._gpkg is not None:
            self.timing["gpkg_cpu"] += self._gpkg.cpu_seconds

    def _close_parquet(self) -> None:
        self._parquet.close()
        self._parts_parquet.close()

    def _write_report(self, summary: dict) -> None:
        html_text = render_report(summary, self._report)
        (self.folder / FORMAT_FILES["html"]).write_text(html_text, encoding="utf-8")

    def outputs(self) -> list[str]:
        """The files this writer produces, summary.json included (zone_parts.parquet when written).

        Known from the chunks handed over, without waiting for the lanes: the report is rendered from
        the summary, so it starts while the other files are still being written.
        """
        files = [FORMAT_FILES[f] for f in FORMAT_FILES if f in self.formats and f != "html"]
        if self._parts_written:
            files.append("zone_parts.parquet")
        return [*files, "summary.json", *([FORMAT_FILES["html"]] if "html" in self.formats else [])]

    def abort(self) -> None:
        """Stop the writers and drop partial files that hold resources (the folder is removed by its owner)."""
        for lane in self._lanes.values():
            lane.shutdown()
        if self._xlsx is not None:
            self._xlsx.abort()
        if self._csv is not None:
            self._csv.abort()
        if self._gpkg is not None:
            self._gpkg.abort()

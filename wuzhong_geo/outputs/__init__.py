"""Writers of a site check's results: leaves that know nothing of rules.

:class:`ResultWriter` fans each checked chunk out to the chosen formats inside a folder (from
:func:`~wuzhong_geo.outputs.folder.atomic_folder`): ``csv`` results.csv, ``parquet``
results.parquet (GeoParquet; zone parts in zone_parts.parquet), ``gpkg`` results.gpkg (layers
``results`` and ``zone_parts``), ``xlsx`` results.xlsx, ``html`` report.html; then
:meth:`ResultWriter.close` renders the report. summary.json: :mod:`~wuzhong_geo.outputs.summary`. Each format is one module of this package.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from wuzhong_geo.columns import ZONE_PART_COLUMNS
from wuzhong_geo.errors import InputError
from wuzhong_geo.outputs.csvfile import CsvWriter
from wuzhong_geo.outputs.gpkg import GpkgWriter
from wuzhong_geo.outputs.parquet import ParquetWriter
from wuzhong_geo.outputs.report import ReportData, render_report
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


def prepare_for_files(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns to text so every chunk has the same field types (GPKG appends need it)."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        dtype = out[col].dtype
        if dtype == object or isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out


class ResultWriter:
    """Write result chunks to ``folder`` in ``formats``; ``timing`` holds seconds per format."""

    def __init__(
        self, folder: Path, columns: list[str], formats=tuple(FORMAT_FILES), name_col=None, rows: int = 0
    ):
        self.folder = Path(folder)
        self.columns = list(columns)
        self.formats = tuple(formats)
        self.table_columns = [c for c in self.columns if c != "geometry"]
        self.timing = {f: 0.0 for f in self.formats}
        self._csv = CsvWriter(self.folder / FORMAT_FILES["csv"], self.table_columns) if "csv" in self.formats else None
        self._gpkg = GpkgWriter(self.folder / FORMAT_FILES["gpkg"]) if "gpkg" in self.formats else None
        self._parquet = None
        self._parts_parquet = None
        if "parquet" in self.formats:
            self._parquet = ParquetWriter(self.folder / FORMAT_FILES["parquet"])
            self._parts_parquet = ParquetWriter(self.folder / "zone_parts.parquet")
        self._xlsx = (
            ResultWorkbook(self.folder / FORMAT_FILES["xlsx"], self.columns) if "xlsx" in self.formats else None
        )
        self._report = ReportData(name_col=name_col, expected_rows=rows) if "html" in self.formats else None

    def add(self, sites: gpd.GeoDataFrame, zone_parts: gpd.GeoDataFrame) -> None:
        """Write one chunk of results and its zone parts."""
        files = prepare_for_files(sites)
        parts = prepare_for_files(zone_parts)
        if self._report is not None:
            t = time.perf_counter()
            self._report.add(sites)
            self.timing["html"] += time.perf_counter() - t
        if self._csv is not None:
            t = time.perf_counter()
            self._csv.append(files)
            self.timing["csv"] += time.perf_counter() - t
        if self._gpkg is not None:
            t = time.perf_counter()
            self._gpkg.append("results", gpd.GeoDataFrame(files, geometry="geometry", crs=sites.crs))
            self._gpkg.append("zone_parts", parts)
            self.timing["gpkg"] += time.perf_counter() - t
        if self._parquet is not None:
            t = time.perf_counter()
            self._parquet.append(gpd.GeoDataFrame(files, geometry="geometry", crs=sites.crs))
            if len(parts):
                self._parts_parquet.append(parts)
            self.timing["parquet"] += time.perf_counter() - t
        if self._xlsx is not None:
            t = time.perf_counter()
            self._xlsx.append(files, parts[list(ZONE_PART_COLUMNS)] if len(parts) else parts)
            self.timing["xlsx"] += time.perf_counter() - t

    def close(self, summary: dict) -> None:
        """Finish every file and render the report from ``summary`` (summary.json is the caller's)."""
        if self._gpkg is not None:
            t = time.perf_counter()
            self._gpkg.close()
            self.timing["gpkg"] += time.perf_counter() - t
        if self._parquet is not None:
            t = time.perf_counter()
            self._parquet.close()
            self._parts_parquet.close()
            self.timing["parquet"] += time.perf_counter() - t
        if self._xlsx is not None:
            t = time.perf_counter()
            self._xlsx.close()
            self.timing["xlsx"] += time.perf_counter() - t
        if self._report is not None:
            t = time.perf_counter()
            html_text = render_report(summary, self._report)
            (self.folder / FORMAT_FILES["html"]).write_text(html_text, encoding="utf-8")
            self.timing["html"] += time.perf_counter() - t

    def outputs(self) -> list[str]:
        """The files this writer produces, summary.json included (zone_parts.parquet when written)."""
        files = [FORMAT_FILES[f] for f in FORMAT_FILES if f in self.formats and f != "html"]
        if self._parts_parquet is not None and self._parts_parquet.path.exists():
            files.append("zone_parts.parquet")
        return [*files, "summary.json", *([FORMAT_FILES["html"]] if "html" in self.formats else [])]

    def abort(self) -> None:
        """Drop partial files that hold resources (the folder itself is removed by its owner)."""
        if self._xlsx is not None:
            self._xlsx.abort()

"""What every reader returns: sites (rows with a geometry and a line number) and how they were read.

A site row carries the input's own columns, ``row_id`` (1 = first data row), a geometry in
EPSG:4326 (or None) and the reader's verdict in internal columns (dropped before output):
``_status`` (None, or ``invalid_coordinates`` / ``invalid_geometry``), ``_message`` (Chinese, why),
``_notes`` (row notes, e.g. swapped lat/lon), ``_swapped`` (bool), ``_dms`` (bool), ``_source_crs``.
Readers know nothing of results; a caller that adds columns passes their names as ``reserved`` and
input columns of those names are renamed ``input_<name>``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from wuzhong_geo.errors import InputError
from wuzhong_geo.inputs.detect import CATEGORY_NAMES, NAME_NAMES, TOWN_NAMES, find, find_containing

#: Columns a reader adds to every site (dropped before output).
INTERNAL_COLUMNS = ("_status", "_message", "_notes", "_swapped", "_dms", "_source_crs")


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
    dms_rows: int = 0  # rows with degrees-minutes-seconds coordinates (counted while reading)

    def as_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {k: v for k, v in self.__dict__.items()}



class SiteReader:
    """An opened input: ``info`` and :meth:`chunks` (GeoDataFrames of at most ``size`` rows)."""

    def __init__(self, info: InputInfo, chunk_fn):
        self.info = info
        self._chunk_fn = chunk_fn

    def chunks(self, size: int = 50_000) -> Iterator[gpd.GeoDataFrame]:
        """Yield the sites in input order, ``row_id`` counting from 1 across chunks."""
        start = 1
        self.info.dms_rows = 0
        for chunk in self._chunk_fn(size):
            chunk = chunk.reset_index(drop=True)
            self.info.dms_rows += int(chunk["_dms"].sum())
            chunk.insert(0, "row_id", np.arange(start, start + len(chunk), dtype=np.int64))
            start += len(chunk)
            yield chunk

    def read(self) -> gpd.GeoDataFrame:
        """Return all sites at once."""
        parts = list(self.chunks(1 << 30))
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def slices(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """Consecutive row slices of ``frame`` of at most ``size`` rows (one empty slice for no rows)."""
    for start in range(0, max(len(frame), 1), size):
        yield frame.iloc[start : start + size]


def renames(columns: list[str], reserved: Collection[str] = ()) -> dict[str, str]:
    """Rename input columns that clash with ``reserved`` names (case-insensitively: GPKG fields are)
    or start with ``_`` (the internal columns' prefix)."""
    taken_names = {c.lower() for c in reserved}
    out = {}
    taken = {str(c).lower() for c in columns}
    for c in columns:
        if str(c).lower() in taken_names or str(c).startswith("_"):
            new = f"input_{str(c).lstrip('_')}"
            while new.lower() in taken or new.lower() in taken_names:
                new = f"input_{new}"
            out[c] = new
            taken.add(new.lower())
    return out


def whole_frame_reader(frame: gpd.GeoDataFrame, info: InputInfo, explicit: dict) -> SiteReader:
    """A reader over sites already in memory (vector files, parcel TXT): resolve column roles.

    ``explicit``: the caller's column options (``name_col``, …) and ``reserved`` names.
    """
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
        info.name_col = find(columns, NAME_NAMES) or find_containing(columns, ("名称",))
    if info.category_col is None:
        info.category_col = find(columns, CATEGORY_NAMES)
    if info.town_col is None:
        info.town_col = find(columns, TOWN_NAMES)
    renamed = renames(columns, explicit.get("reserved", ()))
    frame = frame.rename(columns=renamed)
    info.renamed = renamed
    info.columns = [renamed.get(c, c) for c in columns]
    for attr in ("name_col", "category_col", "town_col"):
        if getattr(info, attr) in renamed:
            setattr(info, attr, renamed[getattr(info, attr)])
    info.rows = len(frame)
    return SiteReader(info, lambda size: slices(frame, size))

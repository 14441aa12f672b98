"""The one place where the web app calls the package: the check, the preview, `where`, boundaries.

Every call the server makes into the CLI's pipeline goes through here, so a change of the pipeline's
entry points is a change of this module only. Nothing here re-implements the check: the page gets
exactly what ``wuzhong-geo check`` writes, and "Ask a place" is the check of one point.

Calls that read or switch the layers hold :data:`LOCK`: the active town boundaries are process
state (``layers.use_boundaries``), and each browser session may have its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Serialises pipeline calls: the active boundaries are process-wide state.
LOCK = threading.RLock()
#: Rows per chunk in the app: small enough for a progress bar that moves on a 100k-row file.
CHUNK_SIZE = 10_000
#: Rows shown on the "which columns?" panel.
PREVIEW_ROWS = 5


def output_files() -> tuple[str, ...]:
    """Return the file names ``check`` writes (the page offers each as a download)."""
    from wuzhong_geo.outputs import OUTPUT_FILES

    return OUTPUT_FILES


def column_label(column: str) -> tuple[str, str]:
    """Return the (Chinese header, English description) the XLSX output uses for ``column``."""
    from wuzhong_geo.columns import label  # the XLSX header of a result column

    return label(column)


def use_boundaries(path: Path | None) -> None:
    """Switch the layers to the official towns at ``path`` (None: schematic); InputError if bad."""
    from wuzhong_geo import layers

    with LOCK:
        layers.use_boundaries(path)


def boundaries_label(path: Path | None, shown_name: str | None = None) -> dict[str, str]:
    """Return which town boundaries an answer uses, in Chinese and English."""
    from wuzhong_geo.style import BOUNDARY_SOURCE_LABELS, SCHEMATIC_NOTE_EN, SCHEMATIC_NOTE_ZH

    if path is None:
        return {"kind": "schematic", "zh": SCHEMATIC_NOTE_ZH, "en": SCHEMATIC_NOTE_EN}
    zh, en = BOUNDARY_SOURCE_LABELS["official"]
    name = shown_name or path.name
    return {"kind": "official", "zh": f"镇（街道）边界：{zh}（{name}）。",
            "en": f"Town boundaries: {en} ({name})."}


def _open_input(path: Path, options: dict) -> Any:
    from wuzhong_geo.inputs import open_input

    return open_input(path, **options)


def preview(path: Path, options: dict) -> dict:
    """Open ``path`` as the check would and describe it: detected columns, CRS, first rows.

    ``needs`` lists what the page must ask: ``"columns"`` when no coordinate columns were found,
    ``"crs"`` when a table's coordinates carry no hint of their flavour (WGS84/GCJ-02/BD-09/GK).
    Raises InputError (the CLI's message) for a file the check refuses outright.
    """
    from wuzhong_geo.errors import InputError

    needs: list[str] = []
    problem = None
    try:
        reader = _open_input(path, options)
    except InputError as exc:
        # Maybe only the coordinate columns were not recognised: reopen naming the first two
        # columns, just to show the rows; if that fails too, the file itself is refused.
        problem = str(exc)
        first_two = _first_two_columns(path, options)
        if first_two is None:
            raise
        reader = _open_input(path, {**options, "lon_col": first_two[0], "lat_col": first_two[1]})
        needs.append("columns")
    info = reader.info
    first = next(iter(reader.chunks(PREVIEW_ROWS)))
    # Degrees alone cannot tell WGS84 from GCJ-02 (Amap) or BD-09 (Baidu): ask, unless a column
    # name or a per-row CRS column says which.
    if info.format in ("csv", "xlsx") and info.crs == "auto" and not info.crs_col \
            and not options.get("crs"):
        needs.append("crs")
    columns = [c for c in info.columns]
    rows = [[_cell(first[c].iloc[i]) if c in first else "" for c in columns]
            for i in range(min(PREVIEW_ROWS, len(first)))]
    detected = {k: getattr(info, k) for k in
                ("lon_col", "lat_col", "lonlat_col", "wkt_col", "crs_col", "name_col",
                 "category_col", "town_col")}
    if "columns" in needs:
        detected.update(lon_col=None, lat_col=None)
    return {"format": info.format, "rows": info.rows, "encoding": info.encoding, "crs": info.crs,
            "columns": columns, "preview": rows, "detected": detected, "needs": needs,
            "problem": problem, "notes": list(info.notes)}


def _first_two_columns(path: Path, options: dict) -> tuple[str, str] | None:
    """Column names of a table whose coordinate columns were not found (None: not that case)."""
    from wuzhong_geo.errors import InputError

    if options.get("lon_col") is not None:
        return None
    try:
        # Any existing column opens the table; its own list of columns then comes from the reader.
        _open_input(path, {**options, "lon_col": "\0", "lat_col": "\0"})
    except InputError as exc:
        columns = _columns_from_message(str(exc))
        return (columns[0], columns[1]) if columns and len(columns) >= 2 else None
    return None


def _columns_from_message(message: str) -> list[str] | None:
    # inputs names the file's columns in its "unknown column" message as a Python list literal.
    import ast
    import re

    match = re.search(r"文件中的列为 (\[.*?\])", message)
    if not match:
        return None
    try:
        value = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def _cell(value: Any) -> str:
    shown = json_value(value)
    return "" if shown is None else str(shown)


def check(path: Path, out_dir: Path, options: dict, boundaries: Path | None,
          on_rows: Callable[[int, int], None]) -> dict:
    """Run ``wuzhong-geo check`` on ``path`` into ``out_dir``; return its summary.json content."""
    from wuzhong_geo import pipeline

    with LOCK:
        use_boundaries(boundaries)
        return pipeline.run(path, out_dir, on_rows=on_rows, chunk_size=CHUNK_SIZE, progress=False, **options)


def where(lon: float | None, lat: float | None, crs: str | None, boundaries: Path | None,
          name: str | None = None) -> dict:
    """``wuzhong-geo where`` for the page: ``point`` (WGS84), ``headline``, ``lines`` (the CLI's text,
    one cited statement each), ``citations`` (plan passages) and ``answer`` (the CLI's ``--json``).

    ``name`` instead of coordinates looks up a bundled place or town, as ``wuzhong-geo where 地名``.
    """
    from wuzhong_geo.where import format_where, where_name
    from wuzhong_geo.where import where as plan_where

    with LOCK:
        use_boundaries(boundaries)
        if name:
            answer = where_name(name)
        else:
            answer = plan_where(lon, lat, crs=crs or "wgs84")
    lines = format_where(answer).splitlines()
    query = answer["query"]
    return {"point": [query["lon"], query["lat"]], "status": None,
            "headline": lines[1] if len(lines) > 1 else "", "lines": [lines[0], *lines[2:]],
            "citations": answer.get("citations", []), "answer": answer, "values": {}}


def json_value(value: Any) -> Any:
    """Return a cell as a JSON value (None for missing, numbers as numbers, the rest as text)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else value  # NaN
    if value is None or value is pd.NA or value is pd.NaT or isinstance(value, (bool, int, str)):
        return None if value is pd.NA or value is pd.NaT else value
    return str(value)


def read_results(out_dir: Path):
    """Read the results ``check`` wrote to ``out_dir`` (its typed tables as one GeoDataFrame, input order)."""
    from wuzhong_geo import gpkg

    return gpkg.read(out_dir / "results.gpkg", "results")


def plan_layers() -> dict[str, Any]:
    """Return the plan layers the map draws under the results, as light GeoDataFrames."""
    from wuzhong_geo import layers
    from wuzhong_geo.web.features import web_geometry

    with LOCK:
        out = {}
        for key, cols in (
            ("district", ["name"]),
            ("taihu", ["name"]),
            ("towns", ["code", "name", "management_zone", "subregion", "boundary_source"]),
            ("functional_zones", ["zone", "zone_en"]),
            ("subregions", ["subregion", "subregion_en", "interpretation"]),
            ("management_zones", ["name", "name_en"]),
            ("infrastructure", ["name", "kind", "status", "plan_ref"]),
            ("places", ["name", "category", "plan_ref"]),
            ("policy_areas", ["id", "name", "kind", "plan_ref", "geometry_accuracy_m"]),
        ):
            frame = layers.get(key)
            out[key] = web_geometry(frame[[c for c in cols if c in frame] + ["geometry"]])
        return out


def leaflet_assets() -> tuple[str, str]:
    """Return Leaflet's JS and CSS from the offline copies the web map inlines."""
    import folium

    from wuzhong_geo.web.assets import asset_text

    js = dict(folium.Map.default_js)["leaflet"]
    css = dict(folium.Map.default_css)["leaflet_css"]
    return asset_text(js), asset_text(css)

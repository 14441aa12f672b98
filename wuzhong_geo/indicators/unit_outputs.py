"""Write the per-unit indicators as CSV, XLSX (Chinese headers, column dictionary) and a GeoPackage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wuzhong_geo import gpkg as gpkg_io
from wuzhong_geo import layers, style
from wuzhong_geo.csvsafe import write_csv
from wuzhong_geo.indicators.outputs import write_xlsx
from wuzhong_geo.indicators.units import (
    UNIT_KINDS,
    indicator_columns,
    infrastructure_detail,
    outside_units,
    unit_indicators,
)

from wuzhong_geo.outdir import publish, staging
from wuzhong_geo.qgis_styles import StyleRow, classed_fill_qml, write_styles

#: Headers of the detail and outside-unit tables in the XLSX.
_DETAIL_HEADERS = {"code": "代码", "name": "名称", "kind": "类别键", "kind_zh": "类别", "status": "状态键",
                   "status_zh": "状态", "in_plan": "规划列明", "features": "要素数（个）", "km": "单元内长度（km）"}
_OUTSIDE_HEADERS = {"layer": "图层", "id": "编号", "name": "名称", "kind": "类别"}


def display_headers(by: str = "town") -> dict[str, str]:
    """Return column -> Chinese header with its unit (``轨道交通站点（个）``), from the dictionary."""
    table = indicator_columns(by)
    return {row.column: f"{row.name_zh}（{row.unit}）" if row.unit else row.name_zh for row in table.itertuples()}


def file_stem(by: str) -> str:
    """Return the file name stem of the ``by`` outputs (``indicators_by_town``)."""
    return f"indicators_by_{by}"


def _notes(by: str, outside: pd.DataFrame) -> pd.DataFrame:
    zh, en = UNIT_KINDS[by]
    boundary = layers.active_boundaries()
    rows = [
        ("单元 / Unit", f"{zh}（{en}）"),
        ("边界 / Boundaries", f"官方镇界 {boundary.name}" if boundary else "示意镇界，非法定界线 / schematic, not legal lines"),
        ("量算 / Measured in", "CGCS2000 / 3度带 CM120E（EPSG:4549）；线路先按单元裁剪再量长度"),
        ("字段 / Columns", "每列的中文名、单位、定义与依据见“字段说明”页（data/indicators/unit_indicator_columns.csv）"),
        ("精度 / Accuracy", "基础设施线位与多数地点为示意位置（见 infrastructure.csv、places.csv 的 geometry_accuracy_m）"),
        ("单元外点位 / Outside", f"{len(outside)} 个点位不在任何单元内（太湖水域或邻区），列在“单元外点位”页，未计入各单元"),
    ]
    return pd.DataFrame(rows, columns=["项目", "说明"])


def _classes(values: pd.Series, k: int = 4) -> list[tuple[float, float, str, str]]:
    """Natural-breaks classes (lower, upper, label, colour) of ``values``, as on the thematic maps."""
    # the classifier and legend texts of maps.thematic_map, so QGIS shows the classes of the PNG maps
    from wuzhong_geo.maps.thematic import class_ranges, classify

    if pd.to_numeric(values, errors="coerce").dropna().empty:
        return []
    _, upper = classify(values, "natural_breaks", k)
    colours = style.choropleth_colours(len(upper))
    lowest = float(pd.to_numeric(values, errors="coerce").min())
    lowers = [lowest] + [float(u) for u in upper[:-1]]
    return [(lo, hi, text, colour)
            for lo, (_, hi, text), colour in zip(lowers, class_ranges(values, upper), colours)]


def qgis_styles(table: pd.DataFrame, by: str) -> list[StyleRow]:
    """Return one QGIS choropleth style per column marked ``qgis_style`` in the dictionary (one is default)."""
    columns = indicator_columns(by)
    headers = display_headers(by)
    rows = []
    for spec in columns[columns["qgis_style"] != ""].itertuples():
        classes = _classes(table[spec.column])
        if not classes:
            continue
        rows.append(StyleRow(file_stem(by), headers[spec.column],
                             classed_fill_qml(file_stem(by), spec.column, classes),
                             default=spec.qgis_style == "default",
                             description=f"{spec.definition_zh}（{spec.basis}）"))
    return rows


def write_unit_indicators(out_dir: str | Path, by: str = "town") -> list[Path]:
    """Write ``indicators_by_<by>`` .csv/.xlsx/.gpkg, its column dictionary and the infrastructure detail."""
    out_dir = Path(out_dir)
    table = unit_indicators(by)
    columns = indicator_columns(by)
    detail = infrastructure_detail(by)
    outside = outside_units(by)
    stem = file_stem(by)
    plain = pd.DataFrame(table.drop(columns=table.geometry.name))
    with staging(out_dir) as tmp:
        staged = [tmp / f"{stem}.csv", tmp / f"{stem}_columns.csv", tmp / f"infrastructure_by_{by}.csv"]
        for frame, path in zip((plain, columns, detail), staged):
            write_csv(frame, path, lineterminator="\n")
        staged.append(write_xlsx(tmp / f"{stem}.xlsx", {
            "说明": _notes(by, outside),
            "指标": plain.rename(columns=display_headers(by)),
            "字段说明": columns,
            "基础设施明细": detail.rename(columns=_DETAIL_HEADERS),
            "单元外点位": outside.rename(columns=_OUTSIDE_HEADERS),
        }))
        gpkg = tmp / f"{stem}.gpkg"
        gpkg_io.write(table, gpkg, stem)
        write_styles(gpkg, qgis_styles(table, by))
        staged.append(gpkg)
        return publish(tmp, out_dir, [p.name for p in staged])

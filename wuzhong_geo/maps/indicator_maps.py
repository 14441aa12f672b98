"""Indicator maps of the standard set: town indicators computed from the plan's own layers."""

from __future__ import annotations

import datetime as dt

from matplotlib.figure import Figure

from wuzhong_geo.indicators.units import indicator_columns, outside_units, town_indicators
from wuzhong_geo.maps.thematic import thematic_map

PLAN = "吴中区“十四五”规划"


def _definition(column: str) -> str:
    row = indicator_columns("town").set_index("column").loc[column]
    return f"{row['definition_zh']}（依据：{row['basis']}）。"


def metro_stations_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """轨道交通站点专题图: metro stations per town (interchange stations counted once)."""
    towns = town_indicators()
    outside = outside_units("town")
    stations = outside.loc[outside["kind"] == "metro_station", "name"].unique()
    return thematic_map(
        towns, "metro_stations", scheme="user_defined", bins=[0, 2, 4, 6],
        title="吴中区镇（街道）轨道交通站点专题图",
        subtitle=f"{PLAN} · Metro stations per town (from the plan's infrastructure layer)",
        legend_title="轨道交通站点（个）", label_column="short_name", size=size, date=date, dem=dem,
        no_data_label="无数据",
        notes=_definition("metro_stations") + "站点位置精度 1.5–2.5 公里"
        + (f"；落在镇界外的 {len(stations)} 站（{'、'.join(stations)}）不计入任何镇。" if len(stations) else "。"),
    )


def eco_belt_share_map(*, size: str = "A4", date: dt.date | None = None, dem=None) -> Figure:
    """生态文旅带占比专题图: share of each town's land in the eco-culture-tourism belt."""
    towns = town_indicators()
    return thematic_map(
        towns, "share_eco_culture_tourism_belt", scheme="user_defined", bins=[0, 25, 50, 75, 100],
        title="吴中区镇（街道）生态文旅带面积占比专题图",
        subtitle=f"{PLAN} · Share of each town in the eco-culture-tourism belt (%)",
        legend_title="生态文旅带占比（%）", label_column="short_name", size=size, date=date, dem=dem,
        no_data_label="无数据",
        notes=_definition("share_eco_culture_tourism_belt"),
    )

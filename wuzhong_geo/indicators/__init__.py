"""Indicators: the plan's 表1/表2 targets as data, progress against actuals, joins to the town map."""

from __future__ import annotations

from wuzhong_geo.indicators.charts import overview_chart, progress_chart, write_progress_charts
from wuzhong_geo.indicators.join import (
    JoinReport,
    JoinResult,
    join_to_towns,
    match_town,
    read_table,
)
from wuzhong_geo.indicators.outputs import indicator_tables, write_indicator_outputs
from wuzhong_geo.indicators.progress import STATUSES, assess, progress, status_counts
from wuzhong_geo.indicators.tables import (
    BASELINE_YEAR,
    TARGET_YEAR,
    actual_indicators,
    plan_indicators,
    read_actual_indicators,
    read_plan_indicators,
    target_label,
)

__all__ = [
    "BASELINE_YEAR", "STATUSES", "TARGET_YEAR", "JoinReport", "JoinResult", "actual_indicators", "assess",
    "indicator_tables", "join_to_towns", "match_town", "overview_chart", "plan_indicators", "progress",
    "progress_chart", "read_actual_indicators", "read_plan_indicators", "read_table", "status_counts",
    "target_label", "write_indicator_outputs", "write_progress_charts",
]

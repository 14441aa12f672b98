"""Write the indicator tables (CSV + XLSX) and the progress charts for planners."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wuzhong_geo.csvsafe import write_csv
from wuzhong_geo.indicators.charts import write_progress_charts
from wuzhong_geo.indicators.progress import STATUSES, progress
from wuzhong_geo.indicators.tables import (
    INDICATOR_COLUMN_LABELS,
    TABLE_NAMES,
    actual_indicators,
    plan_indicators,
)
from wuzhong_geo.outdir import publish, staging

XLSX_NAME = "indicators.xlsx"

_README = [
    ("内容 / Contents", ""),
    ("表1", TABLE_NAMES["T1"][0] + "：规划目标与2020年完成情况"),
    ("表2", TABLE_NAMES["T2"][0] + "：2025年目标；文字目标保留原文（target_qualifier = text）"),
    ("实际值", "2020年基期值与此后公布的实际值；每个公布数字一行，初步数/预计数与最终数、修订数分开"),
    ("进展", "每项表2指标的进展判断与理由"),
    ("判断规则 / Rules", ""),
    ("增速类指标", "比较公布的年度增速（几何平均）与目标增速；不用总量相除计算增速"),
    ("总量/比重类指标", "最新值与2025年目标比较；未达标时与2020年基期到目标的线性进度比较"),
    ("左右", "目标值的 ±5% 以内视为达到"),
    ("GDP 口径", "2024年GDP总量含第五次全国经济普查修订（推断）：2023年初步数1638亿元与2024年2005.70亿元不可直接相除"),
    ("可信度 confidence", "high 官方或多源一致；medium 单一二手来源；low 估计或推算"),
    ("状态 / Status", ""),
    *[(zh, f"{key}: {en}") for key, (zh, en) in STATUSES.items()],
]


def _zh_headers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: INDICATOR_COLUMN_LABELS.get(c, (c, c))[0] for c in frame.columns})


def write_xlsx(path: str | Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write sheets with Chinese headers, frozen header row and readable column widths (openpyxl)."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            out = frame if name == "说明" else _zh_headers(frame)
            out.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for i, column in enumerate(out.columns, start=1):
                values = [str(column), *("" if pd.isna(v) else str(v) for v in out[column].head(200))]
                width = min(60, max(6, max(len(v) * (2 if any(ord(ch) > 0x2E80 for ch in v) else 1)
                                           for v in values) + 2))
                sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
    return path


def indicator_tables() -> dict[str, pd.DataFrame]:
    """Return the tables written by :func:`write_indicator_outputs`: plan, actual and progress."""
    plan = plan_indicators()
    actual = actual_indicators()
    return {"plan": plan, "actual": actual, "progress": progress(plan, actual)}


def write_indicator_outputs(out_dir: str | Path) -> list[Path]:
    """Write indicators_{plan,actual,progress}.csv, indicators.xlsx and the progress charts (PNG)."""
    out_dir = Path(out_dir)
    tables = indicator_tables()
    with staging(out_dir) as tmp:
        staged = []
        for name, frame in tables.items():
            staged.append(write_csv(frame, tmp / f"indicators_{name}.csv", lineterminator="\n"))
        plan = tables["plan"]
        readme = pd.DataFrame(_README, columns=["项目", "说明"])
        staged.append(write_xlsx(tmp / XLSX_NAME, {
            "说明": readme,
            "表1": plan[plan["table"] == "T1"].drop(columns=["category", "attribute"]),
            "表2": plan[plan["table"] == "T2"].drop(columns=["achieved_text", "achieved_value"]),
            "实际值": tables["actual"],
            "进展": tables["progress"],
        }))
        staged += write_progress_charts(tmp, tables["plan"], tables["actual"])
        return publish(tmp, out_dir, [p.name for p in staged])

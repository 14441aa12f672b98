"""The plan's 表1 / 表2 targets and the later actual values, loaded as validated tables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import plan_dir

#: The plan's period: 2020 is the baseline year, 2025 the target year of every 表2 indicator.
BASELINE_YEAR = 2020
TARGET_YEAR = 2025

#: Target qualifiers: key -> (how the plan writes it, Chinese label, English label).
QUALIFIERS: dict[str, tuple[str, str, str]] = {
    "eq": ("", "目标值", "target"),
    "about": ("左右", "左右", "about"),
    "ge": ("≥", "不低于", "at least"),
    "gt": (">", "高于", "above"),
    "le": ("以内", "以内（不高于）", "at most"),
    "lt": ("<", "低于", "below"),
    "text": ("", "定性目标", "qualitative target"),
}
#: 表2 categories (类型), in the plan's order.
CATEGORIES = ("创新吴中", "开放吴中", "生态吴中", "人文吴中", "幸福吴中")
#: 表2 attributes (属性).
ATTRIBUTES = {"预期性": "expected", "约束性": "binding"}
#: Kinds of actual value, in order of preference for the same year (a revision replaces a final figure).
BASES: dict[str, tuple[str, str, int]] = {
    "revised": ("修订数", "revised", 3),
    "final": ("最终核实数", "final", 2),
    "preliminary": ("初步数/预计数", "preliminary", 1),
    "inferred": ("推算值（未公布）", "inferred (not published)", 0),
}
TABLE_NAMES = {
    "T1": ("表1 “十三五”主要指标完成情况", "Table 1: 13th FYP main indicators, target vs achieved"),
    "T2": ("表2 “十四五”时期经济社会发展主要指标", "Table 2: 14th FYP main indicators and 2025 targets"),
}
_CONFIDENCE = ["high", "medium", "low"]

#: Display names of the indicator table columns (Chinese, English), used for XLSX headers.
INDICATOR_COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "indicator_id": ("编号", "ID"),
    "table": ("表", "Table"),
    "item_no": ("序号", "Item"),
    "sub_item": ("子项", "Sub-item"),
    "indicator": ("指标", "Indicator"),
    "indicator_group": ("指标组", "Indicator group"),
    "unit": ("单位", "Unit"),
    "category": ("类型", "Category"),
    "attribute": ("属性", "Attribute"),
    "target_text": ("目标（原文）", "Target (as written)"),
    "target_value": ("目标值", "Target value"),
    "target_qualifier": ("目标限定", "Qualifier"),
    "achieved_text": ("完成情况（原文）", "Achieved (as written)"),
    "achieved_value": ("完成值", "Achieved value"),
    "is_rate": ("增速/比率类", "Is a rate"),
    "year": ("年份", "Year"),
    "value": ("数值", "Value"),
    "value_kind": ("数值类型", "Value kind"),
    "growth_pct": ("增速（%）", "Growth (%)"),
    "basis": ("口径", "Basis"),
    "source": ("来源", "Source"),
    "confidence": ("可信度", "Confidence"),
    "notes": ("备注", "Notes"),
    "direction": ("方向", "Direction"),
    "baseline_year": ("基期年份", "Baseline year"),
    "baseline_value": ("基期值", "Baseline value"),
    "latest_year": ("最新年份", "Latest year"),
    "latest_value": ("最新值", "Latest value"),
    "latest_basis": ("最新值口径", "Latest basis"),
    "expected_value": ("按线性进度应达", "Straight-line expectation"),
    "gap_to_target": ("与目标差距", "Gap to target"),
    "gap_to_trajectory": ("与线性进度差距", "Gap to straight-line path"),
    "growth_years": ("增速年份", "Years with growth"),
    "avg_growth_pct": ("年均增速（%）", "Average growth (%)"),
    "required_growth_pct": ("达标所需年均增速（%）", "Growth needed (%)"),
    "status": ("状态", "Status"),
    "status_zh": ("进展", "Progress"),
    "reason_zh": ("说明", "Reason (zh)"),
    "reason": ("Reason", "Reason"),
    "revision_years": ("口径变化年份", "Level breaks"),
}

PLAN_SCHEMA = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, unique=True),
        "table": pa.Column(str, pa.Check.isin(["T1", "T2"])),
        "item_no": pa.Column(int, pa.Check.in_range(1, 40)),
        "sub_item": pa.Column(str, pa.Check.str_matches(r"^[a-d]?$")),
        "indicator": pa.Column(str, pa.Check.str_length(min_value=2)),
        "indicator_group": pa.Column(str),
        "unit": pa.Column(str),
        "category": pa.Column(str, pa.Check.isin(["", *CATEGORIES])),
        "attribute": pa.Column(str, pa.Check.isin(["", *ATTRIBUTES])),
        "target_text": pa.Column(str, pa.Check.str_length(min_value=1)),
        "target_value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "target_qualifier": pa.Column(str, pa.Check.isin(list(QUALIFIERS))),
        "achieved_text": pa.Column(str),
        "achieved_value": pa.Column(float, nullable=True),
        "is_rate": pa.Column(bool),
        "source": pa.Column(str),
        "confidence": pa.Column(str, pa.Check.isin(_CONFIDENCE)),
        "notes": pa.Column(str),
    },
    checks=[
        pa.Check(lambda d: (d["target_qualifier"] == "text") == d["target_value"].isna(),
                 error="a text target has no target_value, and every other target has one"),
        pa.Check(lambda d: (d["table"] == "T1") | d["category"].isin(CATEGORIES),
                 error="every 表2 row needs a category (创新吴中 … 幸福吴中)"),
        pa.Check(lambda d: (d["table"] == "T1") | d["attribute"].isin(list(ATTRIBUTES)),
                 error="every 表2 row needs an attribute (预期性 or 约束性)"),
    ],
    unique=["table", "item_no", "sub_item"],
    strict=True,
    ordered=False,
)

ACTUAL_SCHEMA = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str),
        "table": pa.Column(str, pa.Check.isin(["T1", "T2", "other"])),
        "item_no": pa.Column("Int64", nullable=True),
        "sub_item": pa.Column(str, pa.Check.str_matches(r"^[a-d]?$")),
        "indicator": pa.Column(str, pa.Check.str_length(min_value=2)),
        "unit": pa.Column(str),
        "year": pa.Column(int, pa.Check.in_range(2010, 2035)),
        "value": pa.Column(float),
        "value_kind": pa.Column(str, pa.Check.isin(["level", "growth_rate"])),
        "growth_pct": pa.Column(float, pa.Check.in_range(-100, 1000), nullable=True),
        "basis": pa.Column(str, pa.Check.isin(list(BASES))),
        "source": pa.Column(str, pa.Check.str_length(min_value=1)),
        "confidence": pa.Column(str, pa.Check.isin(_CONFIDENCE)),
        "notes": pa.Column(str),
    },
    checks=[
        pa.Check(lambda d: (d["table"] == "other") | d["item_no"].notna(),
                 error="rows of 表1/表2 need an item_no"),
    ],
    unique=["table", "item_no", "sub_item", "indicator", "year", "basis", "value_kind"],
    strict=True,
    ordered=False,
)

_TEXT_COLUMNS = ("sub_item", "indicator_group", "unit", "category", "attribute", "achieved_text",
                 "notes", "source", "target_text", "indicator")


def indicator_id(table: str, item_no: object, sub_item: object = "", indicator: str = "") -> str:
    """Return the stable id of an indicator row: ``T2-08a``, ``T1-12b`` or ``other:规上工业总产值``."""
    if table == "other" or item_no is None or pd.isna(item_no):
        return f"other:{indicator}"
    return f"{table}-{int(item_no):02d}{sub_item or ''}"


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"indicator table {path} not found")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _number(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = frame[column].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = values.isna() & (text != "")
    if bad.any():
        row = int(bad.idxmax())
        raise InputError(f"{path.name} row {row + 2}, column {column}: {text[row]!r} is not a number")
    return values.astype(float)


def _validate(schema: pa.DataFrameSchema, frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        lines = []
        for check, group in exc.failure_cases.groupby("check", sort=False):
            lines_no = sorted({int(i) + 2 for i in group["index"].dropna()})
            columns = group["column"].dropna().unique()
            where = f"column {columns[0]}" if len(columns) == 1 else "row"
            example = f", e.g. {group['failure_case'].iloc[0]!r}" if len(columns) == 1 else ""
            lines.append(f"  {where}: {check} fails on line(s) {lines_no[:8]}{example}")
        raise InputError(f"{path} does not match the indicator schema:\n" + "\n".join(lines)) from exc


def read_plan_indicators(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an indicators_plan CSV (default: the bundled 表1 + 表2)."""
    path = Path(path) if path else plan_dir() / "indicators_plan.csv"
    raw = _read(path)
    frame = raw.copy()
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].str.strip()
    frame["item_no"] = _number(frame, "item_no", path).astype(int)
    frame["target_value"] = _number(frame, "target_value", path)
    frame["achieved_value"] = _number(frame, "achieved_value", path)
    bad_flag = ~frame["is_rate"].str.lower().isin(["true", "false"])
    if bad_flag.any():
        row = int(bad_flag.idxmax())
        raise InputError(f"{path.name} row {row + 2}: is_rate must be true or false")
    frame["is_rate"] = frame["is_rate"].str.lower() == "true"
    frame.insert(0, "indicator_id", [indicator_id(t, i, s) for t, i, s in
                                     zip(frame["table"], frame["item_no"], frame["sub_item"])])
    frame = _validate(PLAN_SCHEMA, frame, path)
    t2 = frame.loc[frame["table"] == "T2", "item_no"]
    if len(t2) and sorted(set(t2)) != list(range(1, int(t2.max()) + 1)):
        raise InputError(f"{path.name}: 表2 item numbers are not contiguous: {sorted(set(t2))}")
    return frame.reset_index(drop=True)


def read_actual_indicators(path: str | Path | None = None,
                           plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate an indicators_actual CSV; every 表1/表2 row must name a plan indicator."""
    path = Path(path) if path else plan_dir() / "indicators_actual.csv"
    plan = plan_indicators() if plan is None else plan
    raw = _read(path)
    frame = raw.copy()
    for column in ("sub_item", "unit", "notes", "source", "indicator"):
        frame[column] = frame[column].str.strip()
    frame["item_no"] = _number(frame, "item_no", path).astype("Int64")
    frame["year"] = _number(frame, "year", path)
    if frame["year"].isna().any():
        raise InputError(f"{path.name} row {int(frame['year'].isna().idxmax()) + 2}: year is empty")
    frame["year"] = frame["year"].astype(int)
    frame["value"] = _number(frame, "value", path)
    if frame["value"].isna().any():
        raise InputError(f"{path.name} row {int(frame['value'].isna().idxmax()) + 2}: value is empty")
    frame["growth_pct"] = _number(frame, "growth_pct", path)
    frame.insert(0, "indicator_id", [indicator_id(t, i, s, n) for t, i, s, n in zip(
        frame["table"], frame["item_no"], frame["sub_item"], frame["indicator"])])
    frame = _validate(ACTUAL_SCHEMA, frame, path)
    known = set(plan["indicator_id"])
    orphan = ~frame["indicator_id"].str.startswith("other:") & ~frame["indicator_id"].isin(known)
    if orphan.any():
        row = int(orphan.idxmax())
        raise InputError(f"{path.name} row {row + 2}: {frame.loc[row, 'indicator_id']} is not an "
                         "indicator of indicators_plan.csv; fix table/item_no/sub_item")
    return frame.sort_values(["indicator_id", "year", "basis"], kind="stable").reset_index(drop=True)


@lru_cache(maxsize=1)
def _plan_cached() -> pd.DataFrame:
    return read_plan_indicators()


@lru_cache(maxsize=1)
def _actual_cached() -> pd.DataFrame:
    return read_actual_indicators(plan=_plan_cached())


def plan_indicators(table: str | None = None) -> pd.DataFrame:
    """Return 表1 and 表2 (or one of them: ``"T1"`` / ``"T2"``) as a validated table."""
    frame = _plan_cached().copy()
    if table is not None:
        if table not in TABLE_NAMES:
            raise InputError(f"table must be T1 or T2, not {table!r}")
        frame = frame[frame["table"] == table].reset_index(drop=True)
    return frame


def actual_indicators() -> pd.DataFrame:
    """Return the later actual values (one row per published figure) with source, basis and confidence."""
    return _actual_cached().copy()


def target_label(row: pd.Series | dict, unit: bool = True) -> str:
    """Return a target as planners write it: ``7% 左右``, ``≥93%``, ``3% 以内`` or the text target."""
    qualifier = row["target_qualifier"]
    if qualifier == "text":
        return str(row["target_text"])
    suffix = str(row.get("unit", "") or "") if unit else ""
    number = f"{row['target_value']:g}" + (suffix if suffix in ("", "%") else f" {suffix}")
    mark = QUALIFIERS[qualifier][0]
    return f"{number} {mark}" if qualifier in ("about", "le") else f"{mark}{number}"

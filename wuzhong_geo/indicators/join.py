"""Join any town-level table to the 14 streets and towns by code, name, short name or alias.

Every input row that does not end up on the map is reported with its reason: an unknown name, a
code outside Wuzhong, a management zone or NBS special unit instead of a town, an empty key, or a
second row for a town that already has one. Towns without a row keep NaN ("no data").
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import pandas as pd

from wuzhong_geo import layers, limits, names, plan
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import DISTRICT_CODE
from wuzhong_geo.textio import read_csv_text

#: NBS special statistical units of 吴中区 (类似乡级单位): real codes, but not streets or towns.
SPECIAL_UNITS = {
    "320506400": "江苏省太湖采石公司",
    "320506401": "吴中区林场",
    "320506402": "西山农业园区",
    "320506403": "穹窿山风景区",
    "320506404": "开发区",
    "320506405": "国家苏州太湖旅游度假区",
}
#: Columns of the towns layer kept in a join result (areas etc. stay in ``layers.towns()``).
TOWN_COLUMNS = ["code", "name", "short_name", "name_en", "unit_type", "management_zone", "subregion",
                "boundary_source"]
#: Ways a key can match: key -> (Chinese, English).
MATCHED_BY = {
    "code": ("区划代码", "NBS code"),
    "name": ("规范名称", "official name"),
    "short_name": ("简称", "short name"),
    "alias": ("别名/异体字/全角空格", "alias, traditional form or spacing"),
}
_PREFIXES = re.compile(r"^(江苏省)?(苏州市)?(吴中区)?")
_MISSING = {"", "-", "--", "—", "——", "…", "na", "n/a", "nan", "none", "null", "无", "无数据", "暂无", "/"}
_TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class JoinReport:
    """What :func:`join_to_towns` matched, and every row it could not put on the map (with reasons)."""

    key: str
    value: str | None
    value_column: str | None
    rows: int
    matched: pd.DataFrame
    unmatched: pd.DataFrame
    duplicates: pd.DataFrame
    invalid_values: pd.DataFrame
    conflicts: pd.DataFrame
    towns_without_data: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def n_matched(self) -> int:
        """Number of input rows joined to a town."""
        return len(self.matched)

    @property
    def n_unmatched(self) -> int:
        """Number of input rows that name no town (duplicates not included)."""
        return len(self.unmatched)

    @property
    def ok(self) -> bool:
        """True when every row matched once, every value parsed and no code contradicts a name."""
        return self.unmatched.empty and self.duplicates.empty and self.invalid_values.empty \
            and self.conflicts.empty

    def not_joined(self) -> pd.DataFrame:
        """Return every input row left off the map: unmatched and duplicate rows, with reasons."""
        duplicates = self.duplicates.assign(
            reason_zh=lambda d: [f"重复：与第{k}行同为{n}，保留第{k}行" for k, n in zip(d["kept_row"], d["name"])],
            reason=lambda d: [f"duplicate: {n} already given in row {k}, which is kept"
                              for k, n in zip(d["kept_row"], d["name"])],
        )
        columns = ["row", "key_value", "reason_zh", "reason"]
        frames = [f[columns] for f in (self.unmatched, duplicates) if not f.empty]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)

    def left_off(self) -> pd.DataFrame:
        """Return :meth:`not_joined` plus the joined rows whose value is not a finite number."""
        left = self.not_joined()
        invalid = self.invalid_values[~self.invalid_values["row"].isin(left["row"])]
        invalid = invalid.assign(
            reason_zh=[f"数值 {v!r} 不是有限数字，按无数据处理" for v in invalid["value"]],
            reason=[f"value {v!r} is not a finite number; treated as no data" for v in invalid["value"]],
        )[["row", "key_value", "reason_zh", "reason"]]
        frames = [f for f in (left, invalid) if not f.empty]
        if not frames:
            return left
        return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)

    def summary(self, lang: str = "zh") -> str:
        """Return a short bilingual (``zh``) or English (``en``) summary of the join."""
        if lang == "en":
            lines = [(f"{self.n_matched} of {self.rows} rows matched a town by '{self.key}'; "
                      f"{self.n_unmatched} unmatched, {len(self.duplicates)} duplicate(s); "
                      f"{len(self.towns_without_data)} town(s) without data.")]
            lines += [f"  row {r.row}: {r.key_value!r}: {r.reason}" for r in self.not_joined().itertuples()]
            lines += [f"  row {r.row}: value {r.value!r} is not a number (left empty)"
                      for r in self.invalid_values.itertuples()]
            lines += [f"  row {r.row}: {r.key_value!r} is {r.name}, but column {r.column} says "
                      f"{r.other_value!r} ({r.other_name})" for r in self.conflicts.itertuples()]
            return "\n".join(lines)
        lines = [(f"按“{self.key}”匹配：{self.rows} 行中 {self.n_matched} 行匹配到镇（街道），"
                  f"{self.n_unmatched} 行未匹配，{len(self.duplicates)} 行重复；"
                  f"{len(self.towns_without_data)} 个镇（街道）无数据。")]
        lines += [f"  第{r.row}行 {r.key_value!r}：{r.reason_zh}" for r in self.not_joined().itertuples()]
        lines += [f"  第{r.row}行 数值 {r.value!r} 不是数字（按无数据处理）" for r in self.invalid_values.itertuples()]
        lines += [f"  第{r.row}行 {r.key_value!r} 为{r.name}，但“{r.column}”列写的是 {r.other_value!r}"
                  f"（{r.other_name}）" for r in self.conflicts.itertuples()]
        if self.towns_without_data:
            lines.append("  无数据：" + "、".join(self.towns_without_data))
        return "\n".join(lines)


class JoinResult(NamedTuple):
    """The 14 towns with the joined columns (NaN = no data) and the report; unpacks as a pair."""

    towns: gpd.GeoDataFrame
    report: JoinReport


# ---------------------------------------------------------------- reading user tables

def read_table(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a user's CSV (UTF-8, UTF-8 BOM, GBK, Big5; comma, tab or semicolon) or XLSX sheet as text.

    ``df.attrs["encoding"]`` tells the detected encoding of a CSV.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"table {path} not found")
    suffix = path.suffix.lower()
    if suffix in _EXCEL_SUFFIXES:
        limits.check_xlsx(path)
        try:
            book = pd.ExcelFile(path, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise InputError(f"{path.name}: 无法作为 Excel 工作簿读取，请在 Excel 中另存为 .xlsx 或 CSV / cannot read it "
                             f"as an Excel workbook ({type(exc).__name__}); save it again as .xlsx or CSV") from None
        with book:
            chosen = 0 if sheet is None else sheet
            if isinstance(chosen, str) and chosen not in book.sheet_names:
                raise InputError(f"{path.name} has no sheet {chosen!r}; sheets: {', '.join(book.sheet_names)}")
            if isinstance(chosen, int) and not 0 <= chosen < len(book.sheet_names):
                raise InputError(f"{path.name} has {len(book.sheet_names)} sheet(s); sheet {chosen} does not exist")
            frame = pd.read_excel(book, sheet_name=chosen, dtype=object)
        frame.columns = [str(c).strip() for c in frame.columns]
        frame.attrs["encoding"] = "xlsx"
        return frame
    if suffix == ".xls":
        raise InputError(f"{path.name} is an old .xls workbook; save it as .xlsx or CSV")
    if suffix not in _TABLE_SUFFIXES:
        raise InputError(f"{path.name}: unsupported table type {suffix!r}; use CSV or XLSX")
    return read_csv_text(path)


# ---------------------------------------------------------------- matching

def _key_text(value: object) -> str:
    """Return a key as text: numbers from Excel (320506100000.0) become digit strings."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _zone_names() -> dict[str, str]:
    table = plan.management_zone_table()
    out = {}
    for row in table.itertuples():
        for label in (row.name, row.short_name):
            out[names.normalise(label)] = row.name
    return out


def _unmatched_reason(text: str) -> tuple[str, str]:
    digits = re.sub(r"\s", "", text)
    if re.fullmatch(r"\d+", digits):
        if len(digits) not in (9, 12):
            return (f"代码应为9位或12位数字（此为{len(digits)}位）",
                    f"a town code has 9 or 12 digits, this has {len(digits)}")
        if digits[:9] in SPECIAL_UNITS:
            unit = SPECIAL_UNITS[digits[:9]]
            return (f"国家统计局特殊统计单位“{unit}”，不是镇（街道）",
                    f"NBS special statistical unit {unit}, not a street or town")
        if not digits.startswith(DISTRICT_CODE):
            return "不是吴中区（320506）的代码", f"not a code of Wuzhong District ({DISTRICT_CODE})"
        if len(digits) == 12 and not digits.endswith("000"):
            return ("12位代码不是统计用区划代码（应以000结尾），可能是另一套编号",
                    "12-digit code is not an NBS statistical code (those end in 000): another numbering?")
        return ("吴中区没有这个统计用区划代码；若是民政部区划代码（另一套编号），请改用名称匹配",
                ("no Wuzhong town has this NBS statistical code; if it is the civil-affairs numbering "
                 "(another system), match by name instead"))
    zone = _zone_names().get(names.normalise(text))
    if zone:
        return (f"“{zone}”是管理主体（功能区），不是单个镇（街道）",
                f"{zone} is a management zone, not a single street or town")
    for unit in SPECIAL_UNITS.values():
        if names.normalise(text) == names.normalise(unit):
            return (f"国家统计局特殊统计单位“{unit}”，不是镇（街道）",
                    f"NBS special statistical unit {unit}, not a street or town")
    return "未知名称：不是吴中区14个镇（街道）之一", "unknown name: not one of Wuzhong's 14 streets and towns"


def match_town(value: object) -> tuple[str | None, str, str, str]:
    """Return (code, matched_by, reason_zh, reason) for one key value; code is None if unmatched."""
    text = _key_text(value)
    if text == "" or text.lower() in _MISSING:
        return None, "", "键为空", "empty key"
    digits = re.sub(r"\s", "", text)
    if re.fullmatch(r"\d+", digits):
        code = plan.town_code(digits)
        return (code, "code", "", "") if code else (None, "", *_unmatched_reason(text))
    code = plan.town_code(text)
    if code is None:
        stripped = _PREFIXES.sub("", names.normalise(text))
        code = plan.town_code(stripped) if stripped else None
        if code is None:
            return None, "", *_unmatched_reason(text)
    official, short = _town_names()[code]
    if text == official:
        return code, "name", "", ""
    if text == short:
        return code, "short_name", "", ""
    return code, "alias", "", ""


@lru_cache(maxsize=1)
def _town_names() -> dict[str, tuple[str, str]]:
    table = plan.towns_table()
    return {row.code: (row.name, row.short_name) for row in table.itertuples()}


def parse_number(value: object) -> tuple[float, bool]:
    """Return (number, ok): full-width digits, thousands separators and a trailing % are accepted."""
    if value is None or value is pd.NA:
        return float("nan"), True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return (number, True) if math.isfinite(number) or math.isnan(number) else (float("nan"), False)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.lower() in _MISSING:
        return float("nan"), True
    text = re.sub(r"[,\s]", "", text).rstrip("%")
    try:
        number = float(text)
    except ValueError:
        return float("nan"), False
    # inf, 1e400 and a written "nan" are not data a map can class: reported, not drawn
    return (number, True) if math.isfinite(number) else (float("nan"), False)


def _name_like_columns(table: pd.DataFrame, skip: set[str]) -> list[str]:
    """Columns (other than the key) whose values are mostly town names or codes: used to cross-check."""
    found = []
    for column in table.columns:
        if column in skip:
            continue
        values = [_key_text(v) for v in table[column]]
        values = [v for v in values if v]
        if values and sum(plan.town_code(v) is not None for v in values) >= max(2, 0.5 * len(values)):
            found.append(column)
    return found


def join_to_towns(table: pd.DataFrame | str | Path, key: str, value: str | None = None, *,
                  towns: gpd.GeoDataFrame | None = None, sheet: str | int | None = None) -> JoinResult:
    """Join a town-level table to the 14 towns by ``key`` (code, name, short name or alias).

    Returns ``(towns, report)``: all 14 towns with the table's columns (NaN = no data; with ``value``
    that column is numeric) and a :class:`JoinReport` that lists every row not joined, with reasons.
    The first row for a town wins; later rows for the same town are reported as duplicates.
    """
    if not isinstance(table, pd.DataFrame):
        table = read_table(table, sheet=sheet)
    table = table.reset_index(drop=True)
    if key not in table.columns:
        raise InputError(f"key column {key!r} not found; columns are: {', '.join(map(str, table.columns))}")
    if value is not None and value not in table.columns:
        raise InputError(f"value column {value!r} not found; columns are: {', '.join(map(str, table.columns))}")
    towns = layers.towns() if towns is None else towns
    base = towns[[c for c in TOWN_COLUMNS if c in towns.columns] + [towns.geometry.name]]
    town_names = {code: official for code, (official, _) in _town_names().items()}

    matched, unmatched, duplicates, invalid = [], [], [], []
    first_row: dict[str, int] = {}
    codes: list[str | None] = []
    numbers: list[float] = []
    for position, raw in enumerate(table[key]):
        row_no = position + 1
        code, how, reason_zh, reason = match_town(raw)
        key_value = _key_text(raw)
        if value is not None:
            number, ok = parse_number(table.at[position, value])
            if not ok:
                invalid.append({"row": row_no, "key_value": key_value, "value": str(table.at[position, value])})
            numbers.append(number)
        if code is None:
            unmatched.append({"row": row_no, "key_value": key_value, "reason_zh": reason_zh, "reason": reason})
            codes.append(None)
            continue
        if code in first_row:
            duplicates.append({"row": row_no, "key_value": key_value, "code": code, "name": town_names[code],
                               "kept_row": first_row[code]})
            codes.append(None)
            continue
        first_row[code] = row_no
        matched.append({"row": row_no, "key_value": key_value, "code": code, "name": town_names[code],
                        "matched_by": how})
        codes.append(code)

    conflicts = []
    for column in _name_like_columns(table, {key, value} - {None}):
        for position, code in enumerate(codes):
            other = _key_text(table.at[position, column])
            other_code = plan.town_code(other) if other else None
            if code and other_code and other_code != code:
                conflicts.append({"row": position + 1, "key_value": _key_text(table.at[position, key]),
                                  "code": code, "name": town_names[code], "column": column,
                                  "other_value": other, "other_name": town_names[other_code]})

    data = table.copy()
    renames = {c: f"{c}_input" if c in base.columns else c for c in data.columns}
    data = data.rename(columns=renames)
    value_column = renames[value] if value is not None else None
    if value is not None:
        data[value_column] = pd.Series(numbers, dtype=float)
    data["input_row"] = range(1, len(data) + 1)
    data["join_code"] = codes
    data["matched_by"] = data["join_code"].map({m["code"]: m["matched_by"] for m in matched})
    data = data[data["join_code"].notna()]
    joined = base.merge(data, left_on="code", right_on="join_code", how="left", validate="one_to_one")
    joined = joined.drop(columns="join_code")
    joined["input_row"] = joined["input_row"].astype("Int64")
    joined = gpd.GeoDataFrame(joined, geometry=towns.geometry.name, crs=towns.crs)
    missing = joined.loc[joined["input_row"].isna(), "name"].tolist()
    if value_column is not None:
        missing = joined.loc[joined[value_column].isna(), "name"].tolist()

    def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns)

    report = JoinReport(
        key=key, value=value, value_column=value_column, rows=len(table),
        matched=frame(matched, ["row", "key_value", "code", "name", "matched_by"]),
        unmatched=frame(unmatched, ["row", "key_value", "reason_zh", "reason"]),
        duplicates=frame(duplicates, ["row", "key_value", "code", "name", "kept_row"]),
        invalid_values=frame(invalid, ["row", "key_value", "value"]),
        conflicts=frame(conflicts, ["row", "key_value", "code", "name", "column", "other_value", "other_name"]),
        towns_without_data=missing,
        columns={k: v for k, v in renames.items() if k != v},
    )
    return JoinResult(joined, report)


def unmatched_table(table: pd.DataFrame, report: JoinReport) -> pd.DataFrame:
    """Return the input rows left off the map, with ``row``, ``reason_zh`` and ``reason`` in front."""
    left = report.left_off()
    rows = table.reset_index(drop=True).iloc[[r - 1 for r in left["row"]]].reset_index(drop=True)
    return pd.concat([left[["row", "reason_zh", "reason"]], rows], axis=1)

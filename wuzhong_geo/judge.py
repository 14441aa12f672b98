"""Judge: what the plan's rules say about each site — input town check, category, flags, message.

The rule matrix (:mod:`wuzhong_geo.rules`) is evaluated as column masks over the located and
measured columns (plus ``town_codes``, ``management_zones`` and ``partly_outside_district``), so a
rule condition can use any result column. The message is one Chinese sentence per site.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from wuzhong_geo import plan
from wuzhong_geo.chunk import Chunk, Columns
from wuzhong_geo.columns import format_numbers, repeated_text
from wuzhong_geo.context import CheckContext
from wuzhong_geo.distinct import distinct_rows
from wuzhong_geo.locate import MIN_SHARE
from wuzhong_geo.rules import apply_rules, categorise, contains_any


def judge(chunk: Chunk, ctx: CheckContext) -> None:
    """Fill the input-town, category, message and flag columns of ``chunk.out``."""
    sites, out, info, final = chunk.sites, chunk.out, chunk.info, chunk.status
    out["coordinates_swapped"] = pd.array(sites["_swapped"].to_numpy(dtype=bool), dtype="boolean")
    if info.town_col and info.town_col in sites:
        given = sites[info.town_col].astype("string").str.strip()
        uniq = given.dropna().unique()
        lookup = {v: plan.town_code(v) for v in uniq}  # once per distinct spelling, not per row
        codes = given.map(lookup).astype(object)
        out["input_town_code"] = codes.where(codes.notna(), None).to_numpy(dtype=object)
        known = pd.notna(out["input_town_code"]) & chunk.located
        match = _list_contains(chunk.town_codes, pd.Series(out.read("input_town_code"), index=chunk.index))
        town_match = pd.array(np.where(known, match, False), dtype="boolean")
        town_match[~known] = pd.NA
        out["town_match"] = town_match
    cat_source = (
        info.category_col
        if info.category_col in sites
        else (info.name_col if info.name_col in sites else None)
    )
    if cat_source:
        out.set_text("rule_category", _categories(sites[cat_source], ctx))

    out["message"] = _messages(out, sites, chunk.status_codes, chunk.analysed_codes)
    land = np.nan_to_num(out["land_share"], nan=0.0)
    water = np.nan_to_num(out["taihu_share"], nan=0.0)
    extra = {
        "town_codes": chunk.town_codes,
        "management_zones": chunk.management_zones,
        "partly_outside_district": (land > 0) & (land + water < 1 - MIN_SHARE) & (final == "ok"),
    }
    # one frame of every column (not frame().assign(), which copies it once more)
    rule_view = pd.DataFrame(
        {c: out.series(c, raw=True) for c in out} | extra, index=chunk.index, copy=False
    )
    flags = apply_rules(ctx.rules, rule_view)
    for col in ("flags", "flag_level", "flag_notes"):
        out.set_text(col, flags[col].array)


def _categories(text: pd.Series, ctx: CheckContext) -> pd.Categorical:
    """Rule category per row: each distinct text once, and only texts holding some keyword."""
    codes, distinct = pd.factorize(text.astype("string").fillna(""))
    distinct = pd.Series(distinct, dtype="string")
    keywords = [k for cat in ctx.rules.categories.values() for k in cat.keywords]
    hit = contains_any(distinct, keywords, case=False) if keywords else np.zeros(len(distinct), bool)
    found = np.full(len(distinct), None, dtype=object)
    if hit.any():
        cats = categorise(distinct[hit].reset_index(drop=True), ctx.rules.categories)
        found[hit] = cats.astype(object).where(cats.notna(), None).to_numpy()
    return repeated_text(found, codes)  # code -1 (no text): missing


def _list_contains(lists: pd.Series, values: pd.Series) -> np.ndarray:
    """Elementwise: does the ``、``-joined list of row i contain value i.

    Rows repeat a few dozen (list, value) pairs: each distinct pair is tested once, with the
    fenced text test row by row would make (a missing list is empty, a missing value is found
    nowhere), and the answers are broadcast by code.
    """
    list_code, distinct_lists = pd.factorize(lists, use_na_sentinel=True)
    value_code, distinct_values = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    # the text of each code; code -1 (missing) picks the last: an empty list, a value found nowhere
    list_text = [*map(str, distinct_lists), ""]
    value_text = [*map(str, distinct_values), "\0"]
    key = (list_code.astype(np.int64) + 1) * (len(value_text) + 1) + value_code + 1
    pair, first = distinct_rows(key)
    fenced = lambda text: "、" + text + "、"
    found = [
        fenced(list_text[list_code[row]]).find(fenced(value_text[value_code[row]])) >= 0
        for row in first
    ]
    return np.array(found, dtype=bool)[pair]


#: The inputs of a message: rows with equal values get the same sentence.
_MESSAGE_COLUMNS = (
    "name", "functional_zone", "management_zone", "subregion", "towns", "zone_breakdown",
    "crosses_town_boundary", "crosses_zone_boundary",
)


def _messages(
    out: Columns, sites: gpd.GeoDataFrame, final: pd.Categorical, analysed: pd.Categorical
) -> pd.Categorical:
    """One Chinese sentence per site, composed once per distinct combination of its inputs.

    ``analysed`` is the status the geometry itself gives (before bad input overrides it), so a
    repaired polygon still says where it lies. A registry of a million points has a few hundred
    distinct sentences: they are written once each and repeated by index.
    """
    water = analysed == "in_taihu_water"
    outside = analysed == "outside_district"
    key = {c: out[c] for c in _MESSAGE_COLUMNS}
    key["shore_km"] = np.where(water, np.round(out["taihu_shore_m"] / 1000, 1), np.nan)
    key["edge_km"] = np.where(outside, np.round(out["district_distance_m"] / 1000, 1), np.nan)
    key["analysed"], key["final"] = analysed, final
    key["pre"] = sites["_message"]  # Series: factorised as Arrow text, no objects per row
    key["notes"] = sites["_notes"]
    codes, first = _combinations(list(key.values()))
    distinct = {}
    for c, v in key.items():
        values = _values(v, first)
        distinct[c] = np.where(pd.isna(values), None, values)
    return repeated_text(_compose(distinct), codes)


def _values(column, rows: np.ndarray) -> np.ndarray:
    """The values of a column (Series or array) at ``rows``, as objects."""
    if isinstance(column, pd.Series):
        return column.iloc[rows].to_numpy(dtype=object)
    return np.asarray(column[rows], dtype=object)


def _combinations(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """Code of each row's combination of values, and the first row of each combination.

    Each column is factorised on its own (missing values are one value; a categorical's codes
    already are its factors), then the small integer codes are combined: no per-row tuples.
    """
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    bound = 1  # combined < bound
    for column in columns:
        if isinstance(column, pd.Categorical):
            codes, size = column.codes, len(column.categories)
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            size = len(uniques)
        if bound * (size + 1) >= 2**62:  # keep the combined code small (no overflow)
            combined = pd.factorize(combined)[0]
            bound = int(combined.max()) + 1 if len(combined) else 1
        combined = combined * (size + 1) + (np.asarray(codes, dtype=np.int64) + 1)
        bound *= size + 1
    return distinct_rows(combined)


def _compose(k: dict[str, np.ndarray]) -> np.ndarray:
    """The sentences of distinct message inputs (columns of :func:`_messages`' key, None: missing).

    A few hundred combinations: composed one by one.
    """
    shore_km = format_numbers(np.array(k["shore_km"], dtype=float), 1)
    edge_km = format_numbers(np.array(k["edge_km"], dtype=float), 1)
    rows = zip(*(k[c] for c in (*_MESSAGE_COLUMNS, "analysed", "final", "pre", "notes")), shore_km, edge_km)
    return np.array([_sentence(*row) for row in rows] or [], dtype=object)


#: Final statuses whose message is the reader's (what was wrong with the input).
_BAD_INPUT = ("invalid_coordinates", "invalid_geometry", "malformed_row")


def _sentence(name, zone, mzone, subregion, towns, breakdown, cross_town, cross_zone,
              analysed, final, pre, notes, shore_km, edge_km) -> str:
    """One message: where the site lies (or why it could not be placed), then any notes."""
    text = lambda v: "" if v is None else str(v)
    where = text(name) + "（" + text(zone) + "，" + text(mzone) + "，" + text(subregion) + "）"
    located = "主要位于" + where + "，涉及 " + text(towns) if bool(cross_town) else "位于" + where
    if bool(cross_zone):
        located += "；跨功能区：" + text(breakdown)
    where_msg = ""
    if analysed == "ok":
        where_msg = located
    elif analysed == "in_taihu_water":
        where_msg = "位于吴中区太湖水域（距湖岸约 " + shore_km + " 公里），不在陆域"
    elif analysed == "outside_district":
        where_msg = "不在吴中区范围内（距区界约 " + edge_km + " 公里）"
    msg = where_msg
    if final in _BAD_INPUT:
        msg = text(pre)
        if final == "invalid_geometry" and where_msg != "":
            msg += "。修复后" + where_msg
    if text(notes) != "":
        msg += "；注意：" + text(notes)
    return msg

"""Judge: what the plan's rules say about each site — input town check, category, flags, message.

The rule matrix (:mod:`wuzhong_geo.rules`) is evaluated as column masks over the located and
measured columns (plus ``town_codes``, ``management_zones`` and ``partly_outside_district``), so a
rule condition can use any result column. The message is one Chinese sentence per site.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

from wuzhong_geo import plan
from wuzhong_geo.chunk import Chunk
from wuzhong_geo.columns import format_numbers, repeated_text
from wuzhong_geo.context import CheckContext
from wuzhong_geo.locate import MIN_SHARE
from wuzhong_geo.rules import apply_rules, categorise


def judge(chunk: Chunk, ctx: CheckContext) -> None:
    """Fill the input-town, category, message and flag columns of ``chunk.out``."""
    sites, out, info, final = chunk.sites, chunk.out, chunk.info, chunk.status
    out["coordinates_swapped"] = sites["_swapped"].to_numpy(dtype=bool)
    if info.town_col and info.town_col in sites:
        given = sites[info.town_col].astype("string").str.strip()
        uniq = given.dropna().unique()
        lookup = {v: plan.town_code(v) for v in uniq}  # once per distinct spelling, not per row
        codes = given.map(lookup).astype(object)
        out["input_town_code"] = codes.where(codes.notna(), None).to_numpy(dtype=object)
        known = pd.notna(out["input_town_code"].to_numpy(dtype=object)) & chunk.located
        match = _list_contains(chunk.town_codes, out["input_town_code"])
        out["town_match"] = pd.array(np.where(known, match, False), dtype="boolean")
        out.loc[~known, "town_match"] = pd.NA
    cat_source = (
        info.category_col
        if info.category_col in sites
        else (info.name_col if info.name_col in sites else None)
    )
    if cat_source:
        out["rule_category"] = _categories(sites[cat_source], ctx)

    out["message"] = _messages(out, sites, final, chunk.analysed)
    rule_view = out.assign(
        town_codes=chunk.town_codes,
        management_zones=chunk.management_zones,
        partly_outside_district=(out["land_share"].fillna(0) > 0)
        & (out["land_share"].fillna(0) + out["taihu_share"].fillna(0) < 1 - MIN_SHARE)
        & (final == "ok"),
    )
    flags = apply_rules(ctx.rules, rule_view)
    out["flags"] = flags["flags"].to_numpy()
    out["flag_level"] = flags["flag_level"].to_numpy()
    out["flag_notes"] = flags["flag_notes"].to_numpy()


def _categories(text: pd.Series, ctx: CheckContext) -> np.ndarray:
    """Rule category per row: each distinct text once, and only texts holding some keyword."""
    codes, distinct = pd.factorize(text.astype("string").fillna(""))
    distinct = pd.Series(distinct, dtype="string")
    keywords = [k for cat in ctx.rules.categories.values() for k in cat.keywords]
    pattern = "|".join(re.escape(k) for k in keywords)
    hit = distinct.str.contains(pattern, case=False, regex=True).fillna(False).to_numpy(dtype=bool) if keywords else np.zeros(len(distinct), bool)
    found = np.full(len(distinct), None, dtype=object)
    if hit.any():
        cats = categorise(distinct[hit].reset_index(drop=True), ctx.rules.categories)
        found[hit] = cats.astype(object).where(cats.notna(), None).to_numpy()
    out = found[codes] if len(codes) else np.full(0, None, dtype=object)
    out[codes < 0] = None
    return out


def _list_contains(lists: pd.Series, values: pd.Series) -> np.ndarray:
    """Elementwise: does the ``、``-joined list of row i contain value i (numpy's char.find)."""
    padded = ("、" + lists.astype("string").fillna("") + "、").to_numpy(dtype=str)
    needle = (
        "、" + pd.Series(values, index=lists.index).astype("string").fillna("\0") + "、"
    ).to_numpy(dtype=str)
    return np.char.find(padded, needle) >= 0


#: The inputs of a message: rows with equal values get the same sentence.
_MESSAGE_COLUMNS = (
    "name", "functional_zone", "management_zone", "subregion", "towns", "zone_breakdown",
    "crosses_town_boundary", "crosses_zone_boundary",
)


def _messages(
    out: pd.DataFrame, sites: gpd.GeoDataFrame, final: np.ndarray, analysed: np.ndarray
) -> np.ndarray:
    """One Chinese sentence per site, composed once per distinct combination of its inputs.

    ``analysed`` is the status the geometry itself gives (before bad input overrides it), so a
    repaired polygon still says where it lies. A registry of a million points has a few hundred
    distinct sentences: they are written once each and repeated by index.
    """
    water = analysed == "in_taihu_water"
    outside = analysed == "outside_district"
    key = {c: out[c] for c in _MESSAGE_COLUMNS}
    key["shore_km"] = np.where(water, np.round(out["taihu_shore_m"].to_numpy(dtype=float) / 1000, 1), np.nan)
    key["edge_km"] = np.where(outside, np.round(out["district_distance_m"].to_numpy(dtype=float) / 1000, 1), np.nan)
    key["analysed"], key["final"] = analysed, final
    key["pre"] = sites["_message"].to_numpy(dtype=object)
    key["notes"] = sites["_notes"].to_numpy(dtype=object)
    codes, first = _combinations(list(key.values()))
    distinct = pd.DataFrame({c: _values(v, first) for c, v in key.items()})
    distinct = distinct.astype(object).where(distinct.notna(), None)
    return repeated_text(_compose(distinct), codes)


def _values(column, rows: np.ndarray) -> np.ndarray:
    """The values of a column (Series or array) at ``rows``, as objects."""
    if isinstance(column, pd.Series):
        return column.iloc[rows].to_numpy(dtype=object)
    return np.asarray(column, dtype=object)[rows]


def _combinations(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """Code of each row's combination of values, and the first row of each combination.

    Each column is factorised on its own (missing values are one value), then the small integer
    codes are combined: no per-row tuples.
    """
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        combined = combined * (len(uniques) + 1) + (np.asarray(codes) + 1)
        combined = pd.factorize(combined)[0]  # keep the combined code small (no overflow)
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def _compose(k: pd.DataFrame) -> np.ndarray:
    """The sentences of distinct message inputs (columns of :func:`_messages`' key)."""
    s = lambda col: k[col].astype("string").fillna("")
    flag = lambda col: k[col].astype("boolean").fillna(False).to_numpy(dtype=bool)
    where = s("name") + "（" + s("functional_zone") + "，" + s("management_zone") + "，" + s("subregion") + "）"
    located = np.where(flag("crosses_town_boundary"), "主要位于" + where + "，涉及 " + s("towns"), "位于" + where)
    located = np.where(flag("crosses_zone_boundary"), located + "；跨功能区：" + s("zone_breakdown"), located)
    analysed, final = k["analysed"].to_numpy(dtype=object), k["final"].to_numpy(dtype=object)
    shore_km = format_numbers(k["shore_km"].to_numpy(dtype=float), 1)
    edge_km = format_numbers(k["edge_km"].to_numpy(dtype=float), 1)
    where_msg = np.full(len(k), "", dtype=object)
    ok = analysed == "ok"
    where_msg[ok] = located[ok]
    water = analysed == "in_taihu_water"
    where_msg[water] = "位于吴中区太湖水域（距湖岸约 " + shore_km[water] + " 公里），不在陆域"
    outside = analysed == "outside_district"
    where_msg[outside] = "不在吴中区范围内（距区界约 " + edge_km[outside] + " 公里）"
    msg = where_msg.copy()
    pre = s("pre").to_numpy(dtype=object)
    bad = np.isin(final, ["invalid_coordinates", "invalid_geometry", "malformed_row"])
    msg[bad] = pre[bad]
    repaired = (final == "invalid_geometry") & (where_msg != "")
    msg[repaired] = msg[repaired] + "。修复后" + where_msg[repaired]
    notes = s("notes").to_numpy(dtype=object)
    has = notes != ""
    msg[has] = msg[has] + "；注意：" + notes[has]
    return msg

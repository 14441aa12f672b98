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
from wuzhong_geo.chunk import Chunk
from wuzhong_geo.columns import format_numbers
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
        out["rule_category"] = (
            categorise(sites[cat_source], ctx.rules.categories).astype(object).to_numpy()
        )
        out["rule_category"] = out["rule_category"].where(out["rule_category"].notna(), None)

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


def _list_contains(lists: pd.Series, values: pd.Series) -> np.ndarray:
    """Elementwise: does the ``、``-joined list of row i contain value i (numpy's char.find)."""
    padded = ("、" + lists.astype("string").fillna("") + "、").to_numpy(dtype=str)
    needle = (
        "、" + pd.Series(values, index=lists.index).astype("string").fillna("\0") + "、"
    ).to_numpy(dtype=str)
    return np.char.find(padded, needle) >= 0


def _messages(
    out: pd.DataFrame, sites: gpd.GeoDataFrame, final: np.ndarray, analysed: np.ndarray
) -> np.ndarray:
    """One Chinese sentence per site, composed column-wise.

    ``analysed`` is the status the geometry itself gives (before bad input overrides it), so a
    repaired polygon still says where it lies.
    """
    s = lambda col: out[col].astype("string").fillna("")
    where = (
        s("name")
        + "（"
        + s("functional_zone")
        + "，"
        + s("management_zone")
        + "，"
        + s("subregion")
        + "）"
    )
    multi = out["crosses_town_boundary"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    located = np.where(multi, "主要位于" + where + "，涉及 " + s("towns"), "位于" + where)
    zones = out["crosses_zone_boundary"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    located = np.where(zones, located + "；跨功能区：" + s("zone_breakdown"), located)
    shore_km = format_numbers(out["taihu_shore_m"].to_numpy(dtype=float) / 1000, 1)
    edge_km = format_numbers(out["district_distance_m"].to_numpy(dtype=float) / 1000, 1)
    where_msg = np.full(len(out), "", dtype=object)
    ok = analysed == "ok"
    where_msg[ok] = located[ok]
    water = analysed == "in_taihu_water"
    where_msg[water] = "位于吴中区太湖水域（距湖岸约 " + shore_km[water] + " 公里），不在陆域"
    outside = analysed == "outside_district"
    where_msg[outside] = "不在吴中区范围内（距区界约 " + edge_km[outside] + " 公里）"
    msg = where_msg.copy()
    pre = sites["_message"].astype("string").fillna("").to_numpy(dtype=object)
    bad = np.isin(final, ["invalid_coordinates", "invalid_geometry"])
    msg[bad] = pre[bad]
    repaired = (final == "invalid_geometry") & (where_msg != "")
    msg[repaired] = msg[repaired] + "。修复后" + where_msg[repaired]
    notes = sites["_notes"].astype("string").fillna("").to_numpy(dtype=object)
    has = notes != ""
    msg[has] = msg[has] + "；注意：" + notes[has]
    return msg

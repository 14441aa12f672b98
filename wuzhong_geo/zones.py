"""Functional zones (核轴带) and sub-regions built from town polygons and the plan's tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from wuzhong_geo.errors import InputError
from wuzhong_geo.geom import to_storage
from wuzhong_geo.plan import HalfPlaneRule, ShoreDistanceRule, ZoneSplitRules
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS
from wuzhong_geo.style import SUBREGIONS, ZONES

#: Parts of split towns thinner than this (metres) are intersection artefacts, not land.
SLIVER_M = 1.0


class ZoneRuleError(InputError):
    """A zone split rule does not fit the plan's membership or leaves a zone empty."""


def _left_half_plane(line: LineString, extent: float) -> Polygon:
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    d = np.array([x1 - x0, y1 - y0])
    d = d / np.linalg.norm(d)
    left = np.array([-d[1], d[0]])
    a = np.array([x0, y0]) - d * extent
    b = np.array([x1, y1]) + d * extent
    return Polygon([a, b, b + left * extent, a + left * extent])


def split_town(
    town: BaseGeometry, rule: ShoreDistanceRule | HalfPlaneRule, shore: BaseGeometry
) -> dict[str, BaseGeometry]:
    """Split one town (analysis CRS) between the two zones of ``rule``."""
    if isinstance(rule, ShoreDistanceRule):
        near = town.intersection(shore.buffer(rule.distance_m))
        return {rule.near_zone: near, rule.far_zone: town.difference(near)}
    line = gpd.GeoSeries([LineString(rule.line)], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS).iloc[0]
    left = town.intersection(_left_half_plane(line, extent=200_000))
    return {rule.left_zone: left, rule.right_zone: town.difference(left)}


def _opened(geom: BaseGeometry) -> BaseGeometry:
    return geom.buffer(-SLIVER_M / 2, join_style="mitre").buffer(SLIVER_M / 2, join_style="mitre")


def _tidy(town: BaseGeometry, pieces: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Drop the zero-width spikes an intersection leaves along edges (< ``SLIVER_M`` wide).

    What is dropped has next to no area (``tests/test_layers.py`` bounds it), so the parts still
    tile the town; points on such a seam are assigned by :mod:`wuzhong_geo.classify`'s rule.
    """
    return {zone: _opened(geom).intersection(town) for zone, geom in pieces.items()}


def check_rules_against_plan(rules: ZoneSplitRules, membership: pd.DataFrame, towns: pd.DataFrame,
                             source: str = "zone_split_rules.yaml") -> None:
    """Refuse rules that miss a split town, split a whole town, or assign zones the plan does not."""
    names_by_code = dict(zip(towns["code"], towns["name"]))
    problems = []
    for code, name in names_by_code.items():
        member = membership[membership["code"] == code]
        part = sorted(member.loc[member["membership"] == "part", "zone"])
        rule = rules.rules.get(code)
        if part and rule is None:
            problems.append(f"{code} {name}: 规划把它分属 {'、'.join(part)}，但缺少拆分规则 / the plan splits it "
                            f"between {part} but the file has no rule for it — add one")
        elif not part and rule is not None:
            problems.append(f"{code} {name}: 规划中整体属于一个功能区，不应有拆分规则 / the plan puts it wholly in one "
                            "zone; remove its rule")
        elif rule is not None and rule.zones != set(part):
            problems.append(f"{code} {name}: 规则分配 {'、'.join(sorted(rule.zones))}，与规划的 {'、'.join(part)} 不符 / "
                            f"the rule assigns {sorted(rule.zones)} but the plan puts the town in {part}")
    unknown = sorted(set(rules.rules) - set(names_by_code))
    problems += [f"{code}: 不是吴中区的镇（街道）代码 / not a Wuzhong town code" for code in unknown]
    if problems:
        raise ZoneRuleError(f"功能区拆分规则 {source} 与规划不符 / zone rules {source} contradict the plan:\n  "
                            + "\n  ".join(problems))


def town_zone_parts(
    towns: gpd.GeoDataFrame,
    membership: pd.DataFrame,
    rules: ZoneSplitRules,
    taihu: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Return one row per (town, zone): whole towns as they are, partial towns split by the rules."""
    check_rules_against_plan(rules, membership, towns)
    projected = towns.to_crs(ANALYSIS_CRS)
    shore = taihu.to_crs(ANALYSIS_CRS).geometry.union_all().boundary
    rows = []
    for town in projected.itertuples():
        member = membership[membership["code"] == town.code]
        if member.empty:
            raise ZoneRuleError(f"town {town.code} ({town.name}) has no functional-zone membership row")
        whole = member[member["membership"] == "whole"]
        part = member[member["membership"] == "part"]
        if len(whole) == 1 and part.empty:
            pieces = {whole["zone"].iloc[0]: town.geometry}
            assumption = ""
        else:
            rule = rules.rules[town.code]
            pieces = _tidy(town.geometry, split_town(town.geometry, rule, shore))
            assumption = rule.assumption
        for zone, geom in pieces.items():
            wording = member.loc[member["zone"] == zone, "plan_wording"].iloc[0]
            rows.append({
                "code": town.code, "name": town.name, "zone": zone, "zone_en": ZONES[zone][0],
                "membership": member.loc[member["zone"] == zone, "membership"].iloc[0],
                "plan_wording": wording, "split_assumption": assumption,
                "area_km2": round(geom.area / 1e6, 3), "geometry": geom,
            })
    return to_storage(gpd.GeoDataFrame(rows, geometry="geometry", crs=ANALYSIS_CRS))


def dissolve_zones(parts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve town parts into the three functional zones, in the plan's order."""
    proj = parts.to_crs(ANALYSIS_CRS)
    rows = []
    for zone, (zone_en, label_en, _colour) in ZONES.items():
        sel = proj[proj["zone"] == zone]
        geom = shapely.make_valid(sel.geometry.union_all())
        rows.append({
            "zone": zone, "zone_en": zone_en, "label_en": label_en,
            "towns": "、".join(sel["name"]), "area_km2": round(geom.area / 1e6, 2), "geometry": geom,
        })
    return to_storage(gpd.GeoDataFrame(rows, geometry="geometry", crs=ANALYSIS_CRS))


def dissolve_subregions(towns: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Dissolve towns into the 东/中/西部片区 with the interpretation recorded on each row."""
    joined = towns.merge(assignment[["code", "subregion", "basis", "confidence"]], on="code", how="left")
    missing = joined[joined["subregion"].isna()]
    if not missing.empty:
        raise ZoneRuleError(f"towns without a sub-region: {', '.join(missing['name'])}")
    proj = joined.to_crs(ANALYSIS_CRS)
    rows = []
    for sub, (sub_en, label_en, _colour) in SUBREGIONS.items():
        sel = proj[proj["subregion"] == sub]
        geom = shapely.make_valid(sel.geometry.union_all())
        rows.append({
            "subregion": sub, "subregion_en": sub_en, "label_en": label_en,
            "towns": "、".join(sel["name"]), "interpretation": True,
            "confidence": "low", "area_km2": round(geom.area / 1e6, 2), "geometry": geom,
        })
    return to_storage(gpd.GeoDataFrame(rows, geometry="geometry", crs=ANALYSIS_CRS))

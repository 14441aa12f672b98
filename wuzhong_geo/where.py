"""What the plan says about one point: town, zones, policy areas and nearby infrastructure, each cited.

``where(lon, lat)`` returns a JSON-serialisable dict (stable keys, used by the CLI and web apps);
``where_name("甪直古镇")`` first resolves a name from the bundled places and towns; ``format_where``
renders the dict as Chinese text. Every ``plan_quote`` in the answer is copied from ``data/plan``,
where tests hold it verbatim (whitespace aside) to the plan text.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from wuzhong_geo import coords, layers, names, plan, style, uncertainty
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS, WHERE_RADIUS_M

#: Default search radius (metres) for nearby infrastructure and policy areas.
DEFAULT_RADIUS_M = WHERE_RADIUS_M
#: Kinds whose nearest feature is always reported, whatever the radius.
NEAREST_KINDS = ("expressway", "interchange", "metro_station", "high_speed_rail", "intercity_rail")
_POLICY_FIELDS = ("id", "name", "kind", "status", "protection_level", "plan_ref", "plan_quote",
                  "legal_source", "legal_ref", "legal_quote", "geometry_basis", "geometry_accuracy_m",
                  "source", "confidence")
_INFRA_FIELDS = ("id", "name", "kind", "status", "status_as_of", "in_plan", "plan_action", "plan_ref",
                 "geometry_accuracy_m", "confidence")


def _clean(value: Any) -> Any:
    """Make a cell JSON-safe: NaN -> None, numpy scalars -> Python scalars."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cite(plan_ref: Any, quote: Any) -> dict[str, str] | None:
    if not isinstance(quote, str) or not quote:
        return None
    return {"plan_ref": str(plan_ref), "plan_quote": quote}


@lru_cache(maxsize=4)
def _frames(boundaries: Path | None, zone_rules: Path | None) -> dict[str, gpd.GeoDataFrame]:
    """The layers a lookup needs, in the analysis CRS (cached per boundary/rule set)."""
    membership = plan.zone_membership()[["code", "zone", "plan_ref", "confidence"]]
    parts = layers.town_zone_parts().merge(membership, on=["code", "zone"], how="left")
    return {
        "towns": layers.towns().to_crs(ANALYSIS_CRS),
        "parts": parts.to_crs(ANALYSIS_CRS),
        "taihu": layers.taihu().to_crs(ANALYSIS_CRS),
        "district": layers.district().to_crs(ANALYSIS_CRS),
        "policy": layers.policy_areas().to_crs(ANALYSIS_CRS),
        "infra": layers.infrastructure().to_crs(ANALYSIS_CRS),
    }


def _to_wgs84(x: float, y: float, crs: str) -> tuple[float, float, str]:
    spec = coords.parse_crs(crs)
    converted = coords.to_wgs84(np.array([x]), np.array([y]), spec)
    if converted.problem[0] or not np.isfinite(converted.lon[0]):
        raise InputError(f"坐标无法使用：{converted.problem[0] or '无法换算'} / unusable coordinates ({x}, {y}) "
                         f"in {spec.label}: check the order (lon lat, or X Y) and --crs")
    return float(converted.lon[0]), float(converted.lat[0]), spec.label


def _covering(frame: gpd.GeoDataFrame, point: shapely.Point) -> pd.Series | None:
    hit = frame[frame.geometry.covers(point)]
    return None if hit.empty else hit.iloc[0]


def _town(frames: dict, point: shapely.Point) -> dict[str, Any] | None:
    row = _covering(frames["towns"], point)
    if row is None:
        return None
    table = plan.subregion_assignment().set_index("code")
    mz = plan.management_zone_table().set_index("name")
    return {
        "code": row["code"], "name": row["name"], "unit_type": row["unit_type"],
        "boundary_source": row["boundary_source"],
        "subregion": {
            "name": row["subregion"], "interpretation": True,
            "basis": table.loc[row["code"], "basis"], "confidence": table.loc[row["code"], "confidence"],
        },
        "management_zone": {
            "name": row["management_zone"], "basis": mz.loc[row["management_zone"], "basis"],
            "source": mz.loc[row["management_zone"], "source"],
            "confidence": mz.loc[row["management_zone"], "confidence"],
        },
    }


def _zone(frames: dict, point: shapely.Point) -> dict[str, Any] | None:
    row = _covering(frames["parts"], point)
    if row is None:
        return None
    return {
        "zone": row["zone"], "membership": row["membership"],
        "split_assumption": _clean(row["split_assumption"]) or None,
        "confidence": _clean(row["confidence"]),
        "citation": _cite(row["plan_ref"], row["plan_wording"]),
    }


def _policies(frames: dict, point: shapely.Point, radius_m: float) -> list[dict[str, Any]]:
    pol = frames["policy"]
    pol = pol[pol["drawn"]]
    dist = pol.geometry.distance(point)
    order = {kind: i for i, kind in enumerate(style.POLICY_KINDS)}  # the style's grouping order
    near = pol[dist <= radius_m].copy()  # (assign on an empty frame would adopt the Series' index)
    near["distance_m"] = dist[dist <= radius_m]
    near["order"] = near["kind"].map(order)
    out = []
    for _, row in near.sort_values(["distance_m", "order", "id"]).iterrows():
        zh, en, _, group = style.POLICY_KINDS[row["kind"]]
        item = {k: _clean(row[k]) for k in _POLICY_FIELDS}
        item.update({
            "kind_label": zh, "group": group, "status_label": style.POLICY_STATUS_LABELS[row["status"]][0],
            "inside": bool(row["distance_m"] == 0), "distance_m": round(float(row["distance_m"]), 1),
            "citation": _cite(row["plan_ref"], row["plan_quote"]),
        })
        out.append(item)
    return out


def _infra_item(row: Any, distance: float) -> dict[str, Any]:
    item = {k: _clean(row[k]) for k in _INFRA_FIELDS}
    item["in_plan"] = str(row["in_plan"]).lower() == "true"
    item.update({
        "kind_label": style.INFRASTRUCTURE_KINDS[row["kind"]][0],
        "status_label": style.STATUSES[row["status"]][0],
        "distance_m": round(float(distance), 1),
        "citation": _cite(row["plan_ref"], row["plan_wording"]),
    })
    return item


def _infrastructure(frames: dict, point: shapely.Point, radius_m: float) -> tuple[list, dict]:
    infra = frames["infra"]
    dist = infra.geometry.distance(point)
    within = [_infra_item(infra.loc[i], dist[i]) for i in dist[dist <= radius_m].sort_values().index]
    nearest = {}
    for kind in NEAREST_KINDS:
        sel = dist[infra["kind"] == kind]
        if not sel.empty:
            nearest[kind] = _infra_item(infra.loc[sel.idxmin()], sel.min())
    return within, nearest


def where(lon: float, lat: float, *, crs: str = "EPSG:4326", radius_m: float = DEFAULT_RADIUS_M) -> dict[str, Any]:
    """Return everything the plan says about a point, each statement with its plan reference and quote.

    ``lon``/``lat`` are read in ``crs`` (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or ``EPSG:n``;
    projected CRSs take X/easting first). ``radius_m`` bounds the nearby infrastructure and policy areas.
    The result is JSON-serialisable; its keys are stable.
    """
    if not (isinstance(radius_m, (int, float)) and radius_m >= 0 and math.isfinite(radius_m)):
        raise InputError(f"--radius-m 必须是非负数 / --radius-m must be a non-negative number, got {radius_m!r}")
    wlon, wlat, crs_label = _to_wgs84(float(lon), float(lat), crs)
    frames = _frames(layers.active_boundaries(), layers.active_zone_rules())
    point = shapely.Point(coords.transformer(STORAGE_CRS, ANALYSIS_CRS).transform(wlon, wlat))
    if frames["towns"].geometry.covers(point).any():
        location = "land"
    elif frames["taihu"].geometry.covers(point).any():
        location = "taihu_water"
    elif frames["district"].geometry.covers(point).any():
        location = "land"
    else:
        location = "outside_district"
    policies = _policies(frames, point, radius_m)
    within, nearest = _infrastructure(frames, point, radius_m)
    town = _town(frames, point)
    zone = _zone(frames, point)
    certainty = uncertainty.assess_points([point.x], [point.y], [town and town["code"]], [zone and zone["zone"]],
                                          outside=[location == "outside_district"]).iloc[0]
    citations = [c for c in [zone and zone["citation"]] + [p["citation"] for p in policies if p["inside"]]
                 + [i["citation"] for i in within] if c]
    unique = list({(c["plan_ref"], c["plan_quote"]): c for c in citations}.values())
    return {
        "query": {"x": float(lon), "y": float(lat), "crs": crs_label, "lon": round(wlon, 6), "lat": round(wlat, 6),
                  "radius_m": float(radius_m)},
        "location": location,
        "town": town,
        "functional_zone": zone,
        "policy_areas": [p for p in policies if p["inside"]],
        "nearby_policy_areas": [p for p in policies if not p["inside"]],
        "infrastructure": within,
        "nearest": nearest,
        "uncertainty": {k: None if _clean(certainty[k]) in ("", None) else _clean(certainty[k])
                        for k in uncertainty.COLUMNS},
        "citations": unique,
        "boundaries": "official" if layers.active_boundaries() else "schematic",
        "notes": [style.SCHEMATIC_NOTE_ZH] if not layers.active_boundaries() else [],
    }


def resolve_name(name: str) -> dict[str, Any]:
    """Find a name among the bundled places, policy areas and towns (甬直 = 甪直); raise InputError if none."""
    key = names.normalise(name)
    places = layers.places()
    candidates = [(r["name"], "place", r["id"], r["lon"], r["lat"]) for _, r in places.iterrows()]
    towns = plan.towns_table()
    candidates += [(r["name"], "town", r["code"], r["seat_lon"], r["seat_lat"]) for _, r in towns.iterrows()]
    exact = [c for c in candidates if names.normalise(c[0]) == key or names.short_key(c[0]) == names.short_key(name)]
    partial = [c for c in candidates if key and key in names.normalise(c[0])]
    found = exact or partial
    if not found:
        raise InputError(f"地名“{name}”不在随包地点表中 / name {name!r} is not among the bundled places and towns: "
                         "give coordinates instead (wuzhong-geo where LON LAT)")
    if len(found) > 1 and not exact:
        options = "、".join(c[0] for c in found[:8])
        raise InputError(f"地名“{name}”有多个匹配：{options} / {name!r} matches several places: "
                         "use the full name")
    label, source, ident, lon, lat = found[0]
    return {"name": label, "source": source, "id": ident, "lon": float(lon), "lat": float(lat)}


def where_name(name: str, *, radius_m: float = DEFAULT_RADIUS_M) -> dict[str, Any]:
    """Return :func:`where` for a bundled place or town name (the place's point, or the town seat)."""
    found = resolve_name(name)
    answer = where(found["lon"], found["lat"], radius_m=radius_m)
    answer["query"]["name"] = name
    answer["query"]["matched"] = found
    return answer


_CONFIDENCE = {"high": "高", "medium": "中", "low": "低", "official": "官方边界"}


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} 公里" if metres >= 1000 else f"{metres:.0f} 米"


def _quote(cite: dict[str, str] | None) -> str:
    return f"——{cite['plan_ref']}「{cite['plan_quote']}」" if cite else "（规划未直接提及）"


def format_where(answer: dict[str, Any]) -> str:
    """Render a :func:`where` answer as Chinese text, one cited statement per line."""
    q = answer["query"]
    lines = [f"位置 / point: {q['lon']:.5f}, {q['lat']:.5f} (WGS84)"
             + (f"，由 {q['crs']} 换算" if q["crs"] != "wgs84" else "")
             + (f"；地名“{q['name']}” → {q['matched']['name']}" if q.get("name") else "")]
    lines.append("所在：" + {"land": "吴中区陆域", "taihu_water": "吴中区太湖水域",
                            "outside_district": "吴中区范围以外"}[answer["location"]])
    town = answer["town"]
    if town:
        lines.append(f"镇（街道）：{town['name']}（{town['code']}，{'示意边界' if town['boundary_source'] == 'schematic' else '官方边界'}）")
        lines.append(f"管理主体：{town['management_zone']['name']}（依据：{town['management_zone']['basis']}）")
        lines.append(f"片区：{town['subregion']['name']}（本项目解读：规划未列各片区的镇名）")
    sure = answer["uncertainty"]
    if sure["town_confidence"]:
        near = f"，距最近示意镇界 {_km(sure['town_boundary_distance_m'])}" if sure["town_boundary_distance_m"] else ""
        other = f"，另一侧为 {sure['town_alternative']}" if sure["town_alternative"] else ""
        lines.append(f"镇归属可信度：{_CONFIDENCE[sure['town_confidence']]}{near}{other}")
    zone = answer["functional_zone"]
    if zone:
        member = "全域" if zone["membership"] == "whole" else "部分地区"
        lines.append(f"功能区：{zone['zone']}（该镇{member}）{_quote(zone['citation'])}")
        if zone["split_assumption"]:
            lines.append(f"  镇内分界为本项目假设：{zone['split_assumption']}")
        if sure["zone_confidence"]:
            other = f"，另一侧为 {sure['zone_alternative']}" if sure["zone_alternative"] else ""
            lines.append(f"  功能区归属可信度：{_CONFIDENCE[sure['zone_confidence']]}，"
                         f"距镇内分界 {_km(sure['zone_line_distance_m'])}{other}")
    lines.append("所在政策区：" + ("无" if not answer["policy_areas"] else ""))
    for p in answer["policy_areas"]:
        lines.append(f"  · {p['name']}〔{p['kind_label']}，{p['status_label']}〕{_quote(p['citation'])}")
        if p["legal_source"]:
            lines.append(f"      法规/文件：{p['legal_source']} {p['legal_ref']}「{p['legal_quote']}」")
        acc = f"，范围误差约 {_km(p['geometry_accuracy_m'])}" if p["geometry_accuracy_m"] else ""
        lines.append(f"      范围依据：{p['geometry_basis']}{acc}")
    radius = _km(q["radius_m"])
    if answer["nearby_policy_areas"]:
        lines.append(f"{radius}内的其他政策区：")
        for p in answer["nearby_policy_areas"]:
            lines.append(f"  · {p['name']}〔{p['kind_label']}〕距 {_km(p['distance_m'])}{_quote(p['citation'])}")
    lines.append(f"{radius}内的交通基础设施：" + ("无" if not answer["infrastructure"] else ""))
    for i in answer["infrastructure"]:
        lines.append(f"  · {i['name']}〔{i['kind_label']}，{i['status_label']}，截至 {i['status_as_of']}〕"
                     f"距 {_km(i['distance_m'])}（位置误差约 {_km(i['geometry_accuracy_m'])}）{_quote(i['citation'])}")
    if answer["nearest"]:
        lines.append("最近的：")
        for kind, i in answer["nearest"].items():
            lines.append(f"  · {i['kind_label']}：{i['name']}（{i['status_label']}）距 {_km(i['distance_m'])}"
                         f"（位置误差约 {_km(i['geometry_accuracy_m'])}）")
    for note in answer["notes"]:
        lines.append(f"注：{note}")
    return "\n".join(lines)

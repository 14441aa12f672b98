"""The plan's policy areas on the web map: one toggleable layer per group, the plan's words in each popup."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from wuzhong_geo import style as st
from wuzhong_geo.web.features import control_name, fmt_number, geojson_layer, legend_section, popup_html, \
    swatch, tooltip_html

#: Prefix of the per-group policy layers ("政策区 · 生态保护").
POLICY_PREFIX = "政策区 · "


def _quote(text: Any) -> str:
    return f"「{text}」" if isinstance(text, str) and text else ""


def policy_popup(r: Any) -> str:
    """Return the popup of one policy area: what it is, the plan's words, the law's words, how it is drawn."""
    kind, _, _, _ = st.POLICY_KINDS[r.kind]
    status = st.POLICY_STATUS_LABELS.get(r.status, (r.status,))[0]
    legal = " ".join(x for x in (r.legal_source, r.legal_ref) if isinstance(x, str) and x)
    return popup_html(r.name, r.name_en, [
        ("类别", kind), ("状态", status), ("保护级别", r.protection_level),
        ("规划出处", r.plan_ref), ("规划原文", _quote(r.plan_quote)),
        ("法规/文件", legal), ("条文", _quote(r.legal_quote)),
        ("范围依据", r.geometry_basis), ("范围误差", fmt_number(r.geometry_accuracy_m, 0, "米")),
        ("来源", r.source), ("可信度", r.confidence),
    ], "范围按规则生成，非法定界线。")


def _groups(frame: gpd.GeoDataFrame) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for kind, (*_, group) in st.POLICY_KINDS.items():
        if (frame["kind"] == kind).any():
            groups.setdefault(group, []).append(kind)
    return groups


def policy_layers(frame: gpd.GeoDataFrame) -> list[tuple[str, folium.GeoJson]]:
    """Return (layer-control name, layer) per policy group; only drawn areas, hidden until switched on."""
    frame = frame[frame["drawn"]]
    out = []
    for i, (group, kinds) in enumerate(_groups(frame).items()):
        colours = [st.POLICY_KINDS[k][2] for k in kinds]
        name = control_name(swatch(colours[0], edge=colours[-1]), POLICY_PREFIX + group)
        layer = geojson_layer(
            frame[frame["kind"].isin(kinds)], key=f"policy-{i}", name=name, show=False, pane="wz-areas",
            style=lambda r: {"fillColor": st.POLICY_KINDS[r.kind][2], "color": st.POLICY_KINDS[r.kind][2],
                             "weight": 1.5, "fillOpacity": st.POLICY_ALPHA, "opacity": 0.9,
                             "dashArray": "6 4" if r.status == "proposed" else None},
            tooltip=lambda r: tooltip_html(r.name, f"{st.POLICY_KINDS[r.kind][0]} · {r.plan_ref}"),
            popup=policy_popup,
        )
        out.append((name, layer))
    return out


def policy_legend(frame: gpd.GeoDataFrame, layer_names: list[str]) -> str:
    """Return the legend block of the policy layers (one swatch per kind present)."""
    frame = frame[frame["drawn"]]
    rows = [(swatch(colour, edge=colour), zh) for kind, (zh, _, colour, _) in st.POLICY_KINDS.items()
            if (frame["kind"] == kind).any()]
    return legend_section("规划政策区（虚线：拟议）", rows, layer_names, columns=2)

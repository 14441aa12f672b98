"""GeoDataFrames to light, escaped GeoJSON layers: web geometry, tooltip/popup HTML, styles."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

#: Simplification tolerance for the web (metres in the analysis CRS): invisible at district scale.
WEB_TOLERANCE_M = 25.0
#: Decimal places kept in web coordinates (1e-5° is about 1 m here).
WEB_DECIMALS = 5


def esc(value: Any) -> str:
    """Return ``value`` as HTML-escaped text ("" for None/NaN): data never becomes markup."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists and arrays: not a single missing value
        pass
    return html.escape(str(value), quote=True)


def fmt_number(value: Any, decimals: int = 1, unit: str = "") -> str:
    """Return a number for display ("" if missing), thousands separated, with an optional unit."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(number):
        return ""
    text = f"{number:,.{decimals}f}"
    return f"{text} {unit}".strip()


class Row(dict):
    """One feature's attributes, read as ``r.column`` or ``r["any column"]``."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc


def web_geometry(frame: gpd.GeoDataFrame, tolerance_m: float = WEB_TOLERANCE_M) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326, simplified by ``tolerance_m`` and rounded, empty rows dropped."""
    if frame.crs is None:
        frame = frame.set_crs(STORAGE_CRS)
    out = frame[frame.geometry.notna() & ~frame.geometry.is_empty].copy()
    if out.empty:
        return out.to_crs(STORAGE_CRS)
    if tolerance_m > 0 and not out.geom_type.isin(["Point", "MultiPoint"]).all():
        projected = out.geometry.to_crs(ANALYSIS_CRS).simplify(tolerance_m, preserve_topology=True)
        out = out.set_geometry(projected.to_crs(STORAGE_CRS))
    else:
        out = out.to_crs(STORAGE_CRS)
    out.geometry = shapely.transform(out.geometry.values, lambda xy: np.round(xy, WEB_DECIMALS))
    return out[~out.geometry.is_empty]


def popup_html(title: str, subtitle: str = "", rows: Iterable[tuple[str, str]] = (),
               note: str = "") -> str:
    """Return popup HTML; every argument is plain text and is escaped here."""
    parts = [f'<div class="wz-pop"><div class="wz-pop-title">{esc(title)}</div>']
    if subtitle:
        parts.append(f'<div class="wz-pop-sub">{esc(subtitle)}</div>')
    body = "".join(
        f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in rows if value not in (None, "") and esc(value) != ""
    )
    if body:
        parts.append(f"<table>{body}</table>")
    if note:
        parts.append(f'<div class="wz-pop-note">{esc(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


def tooltip_html(title: str, detail: str = "") -> str:
    """Return tooltip HTML: a bold title and an optional second line, both escaped."""
    line = f'<br><span class="wz-tip-sub">{esc(detail)}</span>' if detail else ""
    return f"<b>{esc(title)}</b>{line}"


def _on_each_feature(key: str) -> JsCode:
    # The class lets tests and CSS find a layer's shapes; tooltips/popups are escaped in Python.
    # Hover emphasis restores the exact saved weight, so it works for every layer type.
    return JsCode(
        "function(feature, layer) {"
        f" layer.options.className = 'wz-feature wz-{key}';"
        " var p = feature.properties;"
        " if (p.tip) { layer.bindTooltip(p.tip, {sticky: true, className: 'wz-tip'}); }"
        " if (p.pop) { layer.bindPopup(p.pop, {maxWidth: 380, className: 'wz-popup'});"
        "   layer.on('popupopen', function() { layer.closeTooltip(); }); }"
        " layer.on('mouseover', function() {"
        "   if (layer.setStyle && layer._wzWeight === undefined) {"
        "     layer._wzWeight = layer.options.weight;"
        "     layer.setStyle({weight: (layer.options.weight || 1) + 2}); } });"
        " layer.on('mouseout', function() {"
        "   if (layer.setStyle && layer._wzWeight !== undefined) {"
        "     layer.setStyle({weight: layer._wzWeight}); layer._wzWeight = undefined; } });"
        "}"
    )


def geojson_layer(
    frame: gpd.GeoDataFrame,
    *,
    key: str,
    name: str,
    style: Callable[[Any], dict],
    tooltip: Callable[[Any], str],
    popup: Callable[[Any], str] | None = None,
    pane: str | None = None,
    show: bool = True,
    control: bool = True,
    tolerance_m: float = WEB_TOLERANCE_M,
) -> folium.GeoJson:
    """Return one toggleable GeoJSON layer; ``style``/``tooltip``/``popup`` take a row.

    Only the escaped tooltip/popup HTML and the style travel to the browser, never raw fields.
    """
    if not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"layer key must be letters, digits, '_' or '-': {key!r}")
    frame = web_geometry(frame, tolerance_m)
    features = []
    geometry_name = frame.geometry.name
    for record, geom in zip(frame.drop(columns=geometry_name).to_dict("records"), frame.geometry):
        row = Row(record, geometry=geom)
        properties = {"style": style(row), "tip": tooltip(row)}
        if popup is not None:
            properties["pop"] = popup(row)
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                         "properties": properties})
    data = json.loads(json.dumps({"type": "FeatureCollection", "features": features}))
    options: dict[str, Any] = {}
    if pane:
        options["pane"] = pane
    if bool(len(frame)) and frame.geom_type.isin(["Point", "MultiPoint"]).any():
        # Our own pointToLayer: folium's ``marker=`` drops the pane; the style sets the rest.
        options["point_to_layer"] = JsCode(
            "function(feature, latlng) { return L.circleMarker(latlng, "
            + json.dumps({"radius": 5, "fill": True, **({"pane": pane} if pane else {})})
            + "); }"
        )
    return folium.GeoJson(
        data, name=name, show=show, control=control,
        on_each_feature=_on_each_feature(key), **options,
    )


def swatch(colour: str, *, kind: str = "fill", edge: str | None = None, dash: str = "",
           width: float = 2.0) -> str:
    """Return a small legend symbol (fill box, line or dot) as HTML; colours come from style.py."""
    colour, edge = esc(colour), esc(edge or colour)
    if kind == "line":
        dash_attr = f' stroke-dasharray="{esc(dash)}"' if dash else ""
        return (f'<svg class="wz-sw" viewBox="0 0 24 12"><line x1="1" y1="6" x2="23" y2="6" '
                f'stroke="{colour}" stroke-width="{width:g}"{dash_attr}/></svg>')
    if kind == "dot":
        return (f'<svg class="wz-sw" viewBox="0 0 24 12"><circle cx="12" cy="6" r="4.5" '
                f'fill="{colour}" stroke="{edge}" stroke-width="1"/></svg>')
    if kind == "outline":
        return (f'<svg class="wz-sw" viewBox="0 0 24 12"><rect x="1" y="1" width="22" height="10" '
                f'fill="none" stroke="{colour}" stroke-width="{width:g}"/></svg>')
    if kind == "hatch":
        return (f'<span class="wz-sw wz-hatch" style="border-color:{edge};background-color:'
                f'{colour}"></span>')
    return f'<span class="wz-sw wz-box" style="background:{colour};border-color:{edge}"></span>'


def legend_section(title: str, items: Sequence[tuple[str, str]], layer_names: Sequence[str] = (),
                   *, columns: int = 1) -> str:
    """Return one legend block: ``items`` are (symbol HTML from :func:`swatch`, plain label).

    The block shows while any of ``layer_names`` (layer-control names) is on, always if empty.
    """
    names = esc(json.dumps(list(layer_names), ensure_ascii=False))
    rows = "".join(f'<div class="wz-lg-row">{symbol}<span>{esc(text)}</span></div>'
                   for symbol, text in items)
    grid = f' style="display:grid;grid-template-columns:repeat({columns},auto);column-gap:8px"'
    return (f'<div class="wz-lg-sec" data-layers="{names}"><div class="wz-lg-title">{esc(title)}'
            f'</div><div{grid if columns > 1 else ""}>{rows}</div></div>')


def control_name(symbol: str, text: str) -> str:
    """Return a layer-control entry: a legend symbol (from :func:`swatch`) and escaped text."""
    return f'{symbol}<span class="wz-lc-name">{esc(text)}</span>'


def multi_swatch(colours: Sequence[str], edge: str, *, dots: bool = False) -> str:
    """Return a symbol made of several colours (a layer drawn in categories)."""
    if dots:
        cells = "".join(f'<circle cx="{4 + 8 * i}" cy="6" r="3.3" fill="{esc(c)}"/>'
                        for i, c in enumerate(colours[:3]))
        return f'<svg class="wz-sw" viewBox="0 0 24 12">{cells}</svg>'
    cells = "".join(f'<span style="flex:1;background:{esc(c)}"></span>' for c in colours)
    return f'<span class="wz-sw wz-box" style="display:inline-flex;border-color:{esc(edge)}">{cells}</span>'


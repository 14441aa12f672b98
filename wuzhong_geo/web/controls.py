"""Map furniture with no network needs: page CSS, title, legend, banner, attribution, mini map."""

from __future__ import annotations

from typing import Any, ClassVar

from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MiniMap
from folium.template import Template

from wuzhong_geo.style import NO_DATA, NO_DATA_EDGE, WEB_UI
from wuzhong_geo.web.features import esc

#: Fonts that show Chinese on Windows, macOS and Linux intranet machines (no web font download).
FONT_STACK = ('"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
              '"Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif')
#: SVG fill pattern id for "no data" areas (fillColor "url(#wz-hatch)").
HATCH_FILL = "url(#wz-hatch)"


def page_css() -> str:
    """Return the page's stylesheet (colours from style.WEB_UI)."""
    ui = WEB_UI
    return f"""
<style>
html, body {{ font-family: {FONT_STACK}; }}
/* html body: outranks leaflet.css, which is inlined after this sheet. */
html body .leaflet-container {{ background: {ui['background']}; font-family: {FONT_STACK}; }}
.wz-panel {{ background: {ui['panel']}; color: {ui['text']}; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); padding: 6px 9px; font-size: 12px; line-height: 1.35; }}
.wz-title {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 1000;
  text-align: center; pointer-events: none; max-width: 60%; }}
.wz-title b {{ font-size: 16px; }}
.wz-title span {{ color: {ui['muted']}; font-size: 11px; }}
.wz-banner {{ position: absolute; top: 62px; left: 50%; transform: translateX(-50%); z-index: 1000;
  max-width: 70%; background: {ui['warning_fill']}; color: {ui['warning_text']};
  border: 2px solid {ui['warning_edge']}; border-radius: 5px; padding: 6px 10px; font-size: 12px; }}
.wz-legend {{ max-height: 55vh; overflow-y: auto; min-width: 150px; max-width: 250px; }}
.wz-legend summary {{ font-weight: bold; cursor: pointer; font-size: 13px; }}
.wz-lg-sec {{ margin-top: 5px; }}
.wz-lg-title {{ font-weight: bold; color: {ui['text']}; margin-bottom: 1px; }}
.wz-lg-row {{ display: flex; align-items: center; gap: 5px; white-space: nowrap; }}
.wz-lg-note {{ margin-top: 6px; padding-top: 4px; border-top: 1px solid {ui['rule']};
  color: {ui['muted']}; font-size: 11px; white-space: normal; }}
.wz-sw {{ width: 24px; height: 12px; flex: none; display: inline-block; box-sizing: border-box; }}
.wz-box {{ border: 1px solid; }}
.wz-hatch {{ border: 1px solid; background-image: repeating-linear-gradient(
  45deg, {NO_DATA_EDGE} 0 1px, transparent 1px 4px); }}
.wz-tip {{ font-family: {FONT_STACK}; font-size: 12px; }}
.wz-tip-sub {{ color: {ui['muted']}; }}
.wz-pop {{ font-family: {FONT_STACK}; font-size: 12px; color: {ui['text']}; }}
.wz-pop-title {{ font-weight: bold; font-size: 14px; }}
.wz-pop-sub {{ color: {ui['muted']}; margin-bottom: 4px; }}
.wz-pop table {{ border-collapse: collapse; }}
.wz-pop th {{ text-align: left; font-weight: normal; color: {ui['muted']}; padding: 1px 8px 1px 0;
  vertical-align: top; white-space: nowrap; }}
.wz-pop td {{ padding: 1px 0; vertical-align: top; }}
.wz-pop-note {{ color: {ui['muted']}; font-size: 11px; margin-top: 4px; }}
.wz-label {{ color: {ui['text']}; font-size: 11px; font-weight: bold; white-space: nowrap;
  text-shadow: 0 0 2px {ui['panel']}, 0 0 2px {ui['panel']}, 0 0 3px {ui['panel']}; }}
/* A clicked shape keeps focus; Chrome's focus box around the whole feature reads as a bug. */
.leaflet-container path.leaflet-interactive:focus {{ outline: none; }}
.leaflet-control-layers-list {{ font-size: 12px; line-height: 1.4; }}
.leaflet-control-layers-overlays label {{ margin: 0; }}
.leaflet-control-layers-overlays label > span {{ display: inline-flex; align-items: center; gap: 4px; }}
.leaflet-control-layers .wz-sw {{ vertical-align: middle; }}
/* A clicked shape keeps focus; Chrome's focus box around the whole feature reads as a bug. */
.leaflet-container path.leaflet-interactive:focus {{ outline: none; }}
.leaflet-control-layers-list {{ max-height: calc(100vh - 90px); overflow-y: auto; }}
</style>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="wz-hatch" patternUnits="userSpaceOnUse" width="8" height="8"
  patternTransform="rotate(45)"><rect width="8" height="8" fill="{NO_DATA}"/>
<line x1="0" y1="0" x2="0" y2="8" stroke="{NO_DATA_EDGE}" stroke-width="2"/></pattern>
</defs></svg>
"""


def add_page_style(m: Any) -> None:
    """Add the page CSS and the hatch pattern once to ``m``'s page."""
    root = m.get_root()
    root.header.add_child(Element(page_css()), name="wz_css")


class _Macro(MacroElement):
    def __init__(self, template: str, **values: Any) -> None:
        super().__init__()
        self._name = "WzControl"
        self._template = Template(template)
        for key, value in values.items():
            setattr(self, key, value)


def _overlay_div(css_class: str, content_html: str, role: str = "") -> Element:
    # Inside the map container (not the page body) so it stays visible in full-screen mode.
    return _Macro(
        """{% macro script(this, kwargs) %}
        (function() {
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }},
                                       {{ this._parent.get_name() }}.getContainer());
            {% if this.role %}div.setAttribute('role', {{ this.role|tojson }});{% endif %}
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableClickPropagation(div);
        })();
        {% endmacro %}""",
        css_class=css_class, content=content_html, role=role,
    )


def title_box(title: str, subtitle: str = "") -> Element:
    """Return a title panel (plain text, escaped) over the top of the map."""
    sub = f"<br><span>{esc(subtitle)}</span>" if subtitle else ""
    return _overlay_div("wz-panel wz-title", f"<b>{esc(title)}</b>{sub}")


def banner(text_zh: str, text_en: str = "") -> Element:
    """Return a visible warning banner (plain text, escaped) over the top of the map."""
    en = f"<br>{esc(text_en)}" if text_en else ""
    return _overlay_div("wz-banner", f"⚠ {esc(text_zh)}{en}", role="alert")


def legend(sections_html: str, note: str = "", *, title: str = "图例 Legend",
           visible_layers: dict[str, bool] | None = None, position: str = "bottomleft") -> Element:
    """Return a collapsible legend control; sections tied to layers follow the layer control.

    ``sections_html`` comes from :func:`features.legend_section` (already escaped); ``note`` is text.
    """
    note_html = f'<div class="wz-lg-note">{esc(note)}</div>' if note else ""
    body = (f'<details open><summary>{esc(title)}</summary>{sections_html}{note_html}</details>')
    return _Macro(
        """{% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var shown = {{ this.visible|tojson }};
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function() {
                var div = L.DomUtil.create('div', 'wz-panel wz-legend');
                div.innerHTML = {{ this.body|tojson }};
                // On small screens start folded, so the legend does not hide the district.
                if (map.getSize().y < 760 || map.getSize().x < 900) {
                    div.querySelector('details').open = false;
                }
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
            function sync() {
                var secs = control.getContainer().querySelectorAll('.wz-lg-sec');
                secs.forEach(function(sec) {
                    var names = JSON.parse(sec.getAttribute('data-layers') || '[]');
                    var on = names.length === 0 || names.some(function(n) { return shown[n]; });
                    sec.style.display = on ? '' : 'none';
                });
            }
            map.on('overlayadd', function(e) { shown[e.name] = true; sync(); });
            map.on('overlayremove', function(e) { shown[e.name] = false; sync(); });
            sync();
        })();
        {% endmacro %}""",
        body=body, visible=visible_layers or {}, position=position,
    )


def attribution(text_html: str) -> Element:
    """Return an element adding ``text_html`` (already escaped) to Leaflet's attribution control."""
    return _Macro(
        """{% macro script(this, kwargs) %}
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        }
        {% endmacro %}""",
        text=text_html,
    )


def metric_scale(position: str = "bottomleft") -> Element:
    """Return a metric-only scale bar (folium's control_scale adds miles too)."""
    return _Macro(
        """{% macro script(this, kwargs) %}
        L.control.scale({position: {{ this.position|tojson }}, metric: true, imperial: false,
                         maxWidth: 150}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""",
        position=position,
    )


class GeoJsonMiniMap(JSCSSMixin, MacroElement):
    """Leaflet-MiniMap showing a small GeoJSON (no tiles), so the locator works offline."""

    default_js: ClassVar[list[tuple[str, str]]] = list(MiniMap.default_js)
    default_css: ClassVar[list[tuple[str, str]]] = list(MiniMap.default_css)
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }}_layer = L.geoJson({{ this.data|tojson }}, {
                style: function(feature) { return feature.properties.style; },
                interactive: false
            });
            var {{ this.get_name() }} = new L.Control.MiniMap(
                {{ this.get_name() }}_layer, {{ this.options|tojavascript }});
            {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, **options: Any) -> None:
        super().__init__()
        self._name = "GeoJsonMiniMap"
        self.data = data
        defaults = {'position': "bottomright", 'width': 150, 'height': 150, 'zoom_level_offset': -4,
                        'toggle_display': False, 'zoom_animation': False}
        self.options = {**defaults, **options}

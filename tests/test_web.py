"""Web maps: one self-contained HTML file, escaped data, the options' errors (no browser here)."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
from branca.element import JavascriptLink
from jinja2.utils import htmlsafe_json_dumps
from shapely.geometry import Point
from typer.testing import CliRunner

from wuzhong_geo import layers, style
from wuzhong_geo.errors import InputError
from wuzhong_geo.web import (
    OfflineAssetError,
    check_offline,
    choropleth_map,
    external_references,
    offline_html,
    read_sites,
    save_offline,
    webmap,
)
from wuzhong_geo.web.features import esc, popup_html, tooltip_html

ROOT = Path(__file__).resolve().parents[1]
XSS = '<img src=x onerror="window.__xss=1">'
MAX_BYTES = 5_000_000


def xss_sites() -> gpd.GeoDataFrame:
    """Site-check results as the site check writes them, one with a hostile name."""
    return gpd.GeoDataFrame(
        {"row_id": [1, 2, 3], "status": ["ok", "flagged", "in_taihu_water"],
         "message": ["位于横泾街道", "距太湖岸线 <1 km & 需复核", "位于太湖水域"],
         "name": [XSS, "项目 B", "湖中项目"], "flags": ["", "shore_buffer", ""]},
        geometry=[Point(120.58, 31.15), Point(120.45, 31.22), Point(120.30, 31.12)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def default_html() -> str:
    return offline_html(webmap())


def test_default_map_is_self_contained_and_small(default_html):
    assert external_references(default_html) == []
    assert not re.search(r"<script[^>]+\bsrc=", default_html)
    assert not re.search(r"<link[^>]+\bhref=", default_html)
    assert "tile.openstreetmap" not in default_html and "autonavi" not in default_html
    assert len(default_html.encode("utf-8")) < MAX_BYTES
    # Leaflet and every plugin the map uses are inlined, not linked.
    for marker in ("Leaflet 1.9", "L.Control.Measure", "L.Control.MiniMap", "fullscreen"):
        assert marker in default_html


def in_page(text: str, html: str) -> bool:
    """Whether ``text`` is in the page, as is or JSON-escaped inside a script."""
    return text in html or str(htmlsafe_json_dumps(text))[1:-1] in html


def test_default_map_says_boundaries_are_schematic(default_html):
    assert in_page(style.SCHEMATIC_NOTE_ZH, default_html)


def test_save_offline_is_atomic_and_rejects_what_it_cannot_inline(tmp_path):
    out = save_offline(webmap(), tmp_path / "sub" / "map.html")
    assert out.exists() and out.stat().st_size < MAX_BYTES
    assert [p.name for p in out.parent.iterdir()] == ["map.html"]  # no temp file left

    m = folium.Map(tiles=None)
    m.get_root().header.add_child(JavascriptLink("https://example.invalid/plugin.js"))
    with pytest.raises(OfflineAssetError, match="example.invalid/plugin.js"):
        save_offline(m, tmp_path / "bad.html")
    assert not (tmp_path / "bad.html").exists()


def test_plain_folium_map_fails_loudly_on_web_fonts(tmp_path):
    # folium's default Bootstrap/Font Awesome CSS loads web fonts that have no offline copy.
    with pytest.raises(OfflineAssetError, match="no offline copy.*OfflineMap"):
        save_offline(folium.Map(tiles=None), tmp_path / "plain.html")


@pytest.mark.parametrize("page", [
    '<html><head><script src="https://cdn.example/x.js"></script></head></html>',
    '<html><head><link rel="stylesheet" href="//cdn.example/x.css"></head></html>',
    '<html><body><img src="http://example.com/a.png"></body></html>',
    "<html><head><style>@import url(https://fonts.example/f.css);</style></head></html>",
    '<html><body><div style="background:url(https://example.com/b.png)"></div></body></html>',
])
def test_check_offline_catches_every_kind_of_reference(page):
    with pytest.raises(OfflineAssetError, match="external"):
        check_offline(page)


def test_check_offline_accepts_inline_data():
    check_offline('<html><body><img src="data:image/png;base64,AAAA">'
                  '<a href="https://leafletjs.com">Leaflet</a>'
                  '<style>.a{background:url("data:image/svg+xml;base64,AA")}</style></body></html>')


def test_text_is_escaped_everywhere():
    assert esc(XSS) == "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"
    assert esc(None) == "" and esc(float("nan")) == ""
    assert "<img" not in popup_html(XSS, XSS, [(XSS, XSS)], XSS)
    assert "<img" not in tooltip_html(XSS, XSS)


def test_site_names_and_layer_names_are_escaped_in_the_page():
    extra = gpd.GeoDataFrame({"name": [XSS]}, geometry=[Point(120.6, 31.2)], crs="EPSG:4326")
    html = offline_html(webmap(sites=xss_sites(), extra_layers={XSS: extra}))
    assert "<img src=x" not in html
    # The escaped text is there, as JSON-safe text (tojson escapes < > & again).
    assert "\\u0026lt;img src=x onerror=" in html


def test_read_sites_checks_columns_and_reads_files(tmp_path):
    with pytest.raises(InputError, match="missing message"):
        read_sites(xss_sites().drop(columns="message"))
    path = tmp_path / "results.gpkg"
    xss_sites().to_crs(4549).to_file(path, layer="sites")
    frame = read_sites(path)
    assert len(frame) == 3 and frame.crs.to_epsg() == 4326
    with pytest.raises(InputError, match="does not exist"):
        read_sites(tmp_path / "missing.gpkg")


def test_tianditu_needs_a_key(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(InputError, match="TIANDITU_KEY"):
        webmap(tiles="tianditu")
    with pytest.raises(InputError, match="letters or digits"):
        webmap(tiles="tianditu", tianditu_key="abc'def;<x>")
    monkeypatch.setenv("TIANDITU_KEY", "0123456789abcdef")
    html = offline_html(webmap(tiles="tianditu"))
    assert "tk=0123456789abcdef" in html and "tianditu.gov.cn" in html


def test_unknown_tiles_are_an_input_error():
    with pytest.raises(InputError, match="none, osm, tianditu, amap"):
        webmap(tiles="google")


def test_amap_shows_a_banner_and_shifts_layers():
    shifted = webmap(tiles="amap")
    unshifted = webmap(tiles="amap", amap_shift=False)
    html, plain = offline_html(shifted), offline_html(unshifted)
    for page in (html, plain):
        assert "wz-banner" in page and "GCJ-02" in page and "autonavi" in page
    # GCJ-02 moves Wuzhong about 0.0045° east and 0.002° south: bounds move with it.
    (s1, w1), _ = shifted.get_bounds()
    (s0, w0), _ = unshifted.get_bounds()
    assert 0.003 < w1 - w0 < 0.007 and -0.004 < s1 - s0 < 0


def test_choropleth_classes_colours_and_no_data():
    towns = layers.towns()
    towns["value"] = np.arange(1, 15, dtype=float) * 10
    towns.loc[3, "value"] = np.nan
    html = offline_html(choropleth_map(towns, "value", k=5, title="测试", legend_title="数值"))
    check_offline(html)
    for colour in style.choropleth_colours(5):
        assert colour in html
    assert in_page("url(#wz-hatch)", html) and in_page("无数据", html)
    html = offline_html(choropleth_map(towns, "value", bins=[50, 100, 150]))
    for colour in style.choropleth_colours(3):
        assert colour in html


def test_choropleth_matches_the_static_map_classes():
    from wuzhong_geo.maps.thematic import classify

    towns = layers.towns()
    classes, upper = classify(towns["area_km2"], "natural_breaks", 4, None)
    html = offline_html(choropleth_map(towns, "area_km2", scheme="natural_breaks", k=4,
                                       legend_title=XSS))
    colours = style.choropleth_colours(len(upper))
    for cls in classes:
        assert cls >= 0 and colours[cls] in html
    assert "<img src=x" not in html  # the legend title is user text too


def test_choropleth_rejects_bad_columns():
    towns = layers.towns()
    with pytest.raises(InputError, match="not in the data"):
        choropleth_map(towns, "nope")
    towns["text"] = "abc"
    with pytest.raises(InputError, match="non-numeric"):
        choropleth_map(towns, "text")
    with pytest.raises(InputError, match="unknown scheme"):
        choropleth_map(towns, "area_km2", scheme="jenks_magic")


def test_notebook_display_is_offline_too():
    frame = webmap()._repr_html_()
    assert frame.startswith("<div") and "srcdoc=" in frame and "https://cdn" not in frame


def test_cli_writes_the_map(tmp_path):
    from wuzhong_geo.cli import app

    out = tmp_path / "wuzhong.html"
    result = CliRunner().invoke(app, ["webmap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    check_offline(out.read_text(encoding="utf-8"))
    result = CliRunner().invoke(app, ["webmap", "--out", str(out), "--tiles", "bing"])
    assert result.exit_code == 2 and "none, osm, tianditu, amap" in result.output


def test_committed_default_map_is_offline_and_small():
    path = ROOT / "maps" / "wuzhong.html"
    assert path.exists(), "run: wuzhong-geo webmap --out maps/wuzhong.html"
    assert path.stat().st_size < MAX_BYTES
    check_offline(path.read_text(encoding="utf-8"))


def test_gcj02_shift_matches_cnmaps():
    from cnmaps.geo import wgs84_to_gcj02 as reference

    from wuzhong_geo.web.tiles import to_gcj02

    lon, lat = np.array([120.0, 120.45, 120.9]), np.array([31.0, 31.15, 31.4])
    shifted = to_gcj02(gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"))
    got = np.column_stack([shifted.geometry.x, shifted.geometry.y])
    want = np.array([reference(x, y) for x, y in zip(lon, lat, strict=True)])
    assert np.allclose(got, want, rtol=0, atol=1e-9)


def test_official_boundaries_are_named_instead_of_the_schematic_note(tmp_path):
    path = tmp_path / "official_towns.gpkg"
    layers.towns()[["code", "name", "geometry"]].to_file(path)
    layers.use_boundaries(path)  # conftest switches back to the schematic towns afterwards
    html = offline_html(webmap())
    assert in_page("official_towns.gpkg", html)
    assert not in_page(style.SCHEMATIC_NOTE_ZH, html)


def test_site_check_results_use_the_project_name_column():
    # As the site check writes them: the input's own columns, then ``name`` = the town.
    results = xss_sites().drop(columns="name").assign(
        项目名称=["甪直产业园", "光福民宿", "湖中平台"], code="320506108", name="甪直镇")
    html = offline_html(webmap(sites=results))
    assert in_page(tooltip_html("甪直产业园", "通过"), html)
    assert in_page("<tr><th>所在镇（街道）</th><td>甪直镇</td></tr>", html)


def test_policy_layers_carry_the_plan_quotes(default_html):
    import json

    from wuzhong_geo.web.policy import POLICY_PREFIX

    policy = layers.policy_areas()
    drawn = policy[policy["drawn"]]
    groups = {style.POLICY_KINDS[k][3] for k in drawn["kind"]}
    assert default_html.count(json.dumps(POLICY_PREFIX)[1:-1]) >= len(groups)
    for quote in drawn["plan_quote"].dropna().unique():
        if quote:
            assert json.dumps(esc(f"「{quote}」"))[1:-1] in default_html, quote
    assert json.dumps(esc("本条例所称太湖生态岛"))[1:-1] in default_html

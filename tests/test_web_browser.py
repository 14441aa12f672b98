"""The web map in a real browser (Debian's Chromium), opened from disk with the network blocked."""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from conftest import CHROMIUM
from wuzhong_geo import layers, style
from wuzhong_geo.web import save_offline, webmap

XSS = '<img src=x onerror="window.__xss=1">'
XSS_LAYER = "<img src=y onerror=\"window.__xss=2\">图层"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"row_id": [1, 2], "status": ["ok", "flagged"], "message": ["位于横泾街道", "需复核"],
         "name": [XSS, "项目 B"], "flags": ["", "shore_buffer"]},
        # Open Taihu water north of 金庭: nothing else is drawn under the hostile site.
        geometry=[Point(120.28, 31.24), Point(120.45, 31.22)], crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def map_file(tmp_path_factory) -> Path:
    extra = gpd.GeoDataFrame({"name": ["附加点"]}, geometry=[Point(120.9, 31.35)], crs="EPSG:4326")
    m = webmap(sites=_sites(), extra_layers={XSS_LAYER: extra})
    return save_offline(m, tmp_path_factory.mktemp("web") / "wuzhong.html")


class Page:
    """A loaded page plus every request it tried outside the file and every script error."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.page.set_default_timeout(10_000)
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_function("() => document.querySelectorAll('path.wz-towns').length > 0")

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def count(self, selector: str) -> int:
        return self.page.evaluate("s => document.querySelectorAll(s).length", selector)

    def hover_feature(self, selector: str, index: int = 0) -> None:
        """Move the mouse onto a point where the feature is the topmost element."""
        point = self.page.evaluate(
            """([sel, i]) => {
                const el = document.querySelectorAll(sel)[i];
                const r = el.getBoundingClientRect();
                for (let fy = 0.5; fy < 1; fy += 0.05) for (const s of [1, -1]) {
                    const y = r.top + r.height * (s > 0 ? fy : 1 - fy);
                    for (let fx = 0.05; fx < 1; fx += 0.05) {
                        const x = r.left + r.width * fx;
                        if (document.elementFromPoint(x, y) === el) return [x, y];
                    }
                }
                return null;
            }""", [selector, index])
        assert point, f"no visible point on {selector}[{index}]"
        self.page.mouse.move(*point)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def page(browser, map_file):
    loaded = Page(browser, map_file)
    yield loaded
    loaded.close()


def test_no_network_request_and_no_script_error(page):
    page.page.wait_for_timeout(300)
    assert page.blocked == [] and page.failed == [] and page.errors == []


def test_layer_control_lists_every_layer(page):
    kinds = layers.infrastructure()["kind"].nunique()
    policy = layers.policy_areas()
    groups = {style.POLICY_KINDS[k][3] for k in policy.loc[policy["drawn"], "kind"]}
    # district, Taihu, towns, functional zones, sub-regions, management zones, one per
    # infrastructure kind, one per policy group, places, site-check results, the extra layer.
    assert page.count(".leaflet-control-layers-overlays input") == 6 + kinds + len(groups) + 1 + 1 + 1
    assert page.count(".leaflet-control-layers-base input") == 0  # no tiles by default
    labels = page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("镇（街道）" in t for t in labels) and any("功能区" in t for t in labels)


def test_map_furniture_is_there(page):
    for selector in (".leaflet-control-scale", ".leaflet-control-measure",
                     ".leaflet-control-minimap", ".leaflet-control-zoom-fullscreen", ".wz-legend",
                     ".wz-title"):
        assert page.count(selector) == 1, selector
    assert "示意" in page.page.inner_text(".wz-legend")


def test_fourteen_towns_are_drawn_and_toggle(page):
    assert page.count("path.wz-towns") == 14
    towns = page.page.locator(".leaflet-control-layers-overlays label", has_text="镇（街道）")
    towns.locator("input").click()
    assert page.count("path.wz-towns") == 0
    towns.locator("input").click()
    assert page.count("path.wz-towns") == 14
    zones = page.page.locator(".leaflet-control-layers-overlays label", has_text="功能区")
    assert page.count("path.wz-functional_zones") == 0
    zones.locator("input").click()
    assert page.count("path.wz-functional_zones") == 3
    assert page.page.locator(".wz-lg-sec", has_text="中心城市核").is_visible()
    zones.locator("input").click()
    assert page.count("path.wz-functional_zones") == 0


def test_town_tooltip_shows_a_chinese_name(page):
    names = sorted(layers.towns()["name"])
    page.hover_feature("path.wz-towns", 13)
    tip = page.page.locator(".leaflet-tooltip", has_text=re.compile("|".join(names)))
    tip.wait_for(state="visible")
    assert re.search(r"[\u4e00-\u9fff]{2,}(街道|镇)", tip.inner_text())


def test_hostile_names_are_shown_as_text(page):
    page.hover_feature("path.wz-sites", 0)
    page.page.wait_for_timeout(300)
    # Run as HTML, the name would load "x" (a failed request) and set window.__xss.
    assert page.page.evaluate("() => window.__xss") is None
    tip = page.page.locator(".leaflet-tooltip", has_text="onerror")
    tip.wait_for(state="visible")
    assert XSS in tip.inner_text()
    page.page.mouse.down()
    page.page.mouse.up()
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert XSS in popup.inner_text()
    assert XSS_LAYER in page.page.inner_text(".leaflet-control-layers-overlays")
    assert page.page.evaluate("() => window.__xss") is None
    assert page.count(".leaflet-container img") == 0
    assert page.blocked == [] and page.failed == []


def test_screenshot_is_not_blank(page, tmp_path):
    from PIL import Image

    png = page.page.screenshot()
    (tmp_path / "webmap.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((160, 108))
    colours = image.getcolors(maxcolors=160 * 108)
    assert len(colours) > 40, "the page looks blank"
    assert max(count for count, _ in colours) < 0.8 * 160 * 108


def test_amap_banner_is_visible(browser, tmp_path):
    path = save_offline(webmap(tiles="amap"), tmp_path / "amap.html")
    loaded = Page(browser, path)
    try:
        banner = loaded.page.locator(".wz-banner")
        assert banner.is_visible() and "GCJ-02" in banner.inner_text()
        assert all("autonavi.com" in url for url in loaded.blocked)  # tiles only, as asked
    finally:
        loaded.close()


def test_policy_layer_popup_quotes_the_plan(page):
    group = page.page.locator(".leaflet-control-layers-overlays label", has_text="政策区 · 生态保护")
    assert page.count("path.wz-policy-0") == 0
    group.locator("input").click()
    assert page.count("path.wz-policy-0") >= 2
    # the last area of the group (the proposed extension, 光福/临湖) is not covered by the others
    page.hover_feature("path.wz-policy-0", page.count("path.wz-policy-0") - 1)
    page.page.mouse.down()
    page.page.mouse.up()
    popup = page.page.locator(".leaflet-popup-content", has_text="规划原文")  # earlier tests' popups may linger
    popup.wait_for(state="visible")
    body = popup.inner_text()
    assert "规划原文" in body and "「" in body and "第五章第一节" in body
    group.locator("input").click()
    assert page.count("path.wz-policy-0") == 0

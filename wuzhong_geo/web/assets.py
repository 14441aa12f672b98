"""Inline every script and stylesheet of a folium map so the HTML opens with no network at all.

Offline copies of the files folium links from CDNs (Leaflet, its plugins, …) come from the
``folium-offline`` package, which ships them keyed by the very URLs folium uses. A URL it lacks
(e.g. after a folium upgrade that bumps a CDN version) is an error, never a silent CDN link.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import folium
from branca.element import Element

from wuzhong_geo.errors import WuzhongGeoError

#: The pip package that provides the offline copies of folium's assets.
ASSET_PACKAGE = "folium-offline"


class OfflineAssetError(WuzhongGeoError, RuntimeError):
    """A web map would need the network: an asset has no offline copy or a reference is left."""


# Leaflet-MiniMap's CSS points at images/toggle.svg|png for a button we never enable; an inline
# arrow keeps the file self-contained even if someone turns the button on.
_TOGGLE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 18 18">'
    '<path d="M4 4h10v10z" fill="#555"/></svg>'
)
_TOGGLE_URI = "data:image/svg+xml;base64," + base64.b64encode(_TOGGLE_SVG.encode()).decode()
#: Relative url() references inside vendored CSS and their self-contained replacements.
_CSS_URL_REPLACEMENTS = {"images/toggle.svg": _TOGGLE_URI, "images/toggle.png": _TOGGLE_URI}

_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script\s*>", re.IGNORECASE
)
_LINK_HREF = re.compile(r"<link\b[^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*?/?>", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*([\"']?)([^\"')]*)\1\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)
#: Attributes that make a browser fetch something (``<a href>`` only navigates on a click).
_FETCH_ATTRS = {
    "script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
    "frame": ("src",), "embed": ("src",), "object": ("data",), "source": ("src", "srcset"),
    "video": ("src", "poster"), "audio": ("src",), "track": ("src",), "input": ("src",),
    "image": ("href", "xlink:href"), "use": ("href", "xlink:href"), "body": ("background",),
}


@lru_cache(maxsize=1)
def _store() -> dict[str, str]:
    try:
        from offlinefolium.elements import _res  # URL -> file text, as folium links them
    except ImportError as exc:
        raise OfflineAssetError(
            f"offline web maps need the {ASSET_PACKAGE!r} package (offline copies of Leaflet and "
            f"its plugins): pip install {ASSET_PACKAGE}"
        ) from exc
    return dict(_res)


def asset_text(url: str) -> str:
    """Return the offline copy of the JS/CSS file that folium links at ``url``."""
    store = _store()
    if url not in store:
        raise OfflineAssetError(
            f"no offline copy of {url}: {ASSET_PACKAGE} does not ship it (folium "
            f"{folium.__version__} may link a newer version than it knows). Remove the element "
            f"that needs it, or upgrade {ASSET_PACKAGE} to match folium."
        )
    return store[url]


def _is_self_contained(ref: str) -> bool:
    ref = ref.strip()
    return ref == "" or ref.startswith(("data:", "#", "about:", "javascript:")) or ref == "%23"


def _fix_css(css: str, origin: str) -> str:
    def replace(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if _is_self_contained(ref) or ref.startswith("%23"):
            return match.group(0)
        if ref in _CSS_URL_REPLACEMENTS:
            return f'url("{_CSS_URL_REPLACEMENTS[ref]}")'
        raise OfflineAssetError(
            f"the stylesheet {origin} loads {ref!r}, which has no offline copy; drop the element "
            "that needs this stylesheet (a plain folium.Map links Bootstrap and Font Awesome: "
            "start from wuzhong_geo.web.OfflineMap, which loads only Leaflet)"
        )

    if _CSS_IMPORT.search(css):
        raise OfflineAssetError(f"the stylesheet {origin} uses @import, which needs the network")
    return _CSS_URL.sub(replace, css)


def inline_assets(html: str) -> str:
    """Replace every ``<script src>`` and stylesheet ``<link href>`` by the file's text."""

    def script(match: re.Match[str]) -> str:
        # "</script" inside the code would end the element early; "<\/" means the same in JS.
        code = asset_text(match.group(1)).replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def link(match: re.Match[str]) -> str:
        tag, url = match.group(0), match.group(1)
        if not re.search(r"\brel\s*=\s*[\"']?stylesheet", tag, re.IGNORECASE):
            raise OfflineAssetError(f"cannot inline {tag!r}: only stylesheet links are supported")
        css = _fix_css(asset_text(url), url).replace("</style", "<\\/style")
        return f"<style>{css}</style>"

    # Functions as replacements: asset texts contain backslashes that re would interpret.
    return _LINK_HREF.sub(link, _SCRIPT_SRC.sub(script, html))


class _RefFinder(HTMLParser):
    """Collect what a page would fetch: tag attributes, CSS url()/@import in styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _FETCH_ATTRS.get(tag, ())
        for name, value in attrs:
            if value is None:
                continue
            if name in wanted and not _is_self_contained(value):
                self.refs.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self._css(value, f"<{tag} style>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")

    def _css(self, css: str, where: str) -> None:
        for match in _CSS_URL.finditer(css):
            ref = match.group(2).strip()
            if not (_is_self_contained(ref) or ref.startswith("%23")):
                self.refs.append(f"{where} url({ref})")
        self.refs.extend(f"{where} {m.group(0)}" for m in _CSS_IMPORT.finditer(css))


def external_references(html: str) -> list[str]:
    """List every reference in ``html`` that a browser would fetch on load (empty: self-contained).

    Script bodies are not searched: tile URLs there are wanted when the user asked for tiles.
    """
    finder = _RefFinder()
    finder.feed(html)
    finder.close()
    return finder.refs


def check_offline(html: str) -> None:
    """Raise :class:`OfflineAssetError` if ``html`` would load anything from outside itself."""
    refs = external_references(html)
    if refs:
        shown = "; ".join(refs[:5]) + (f"; … ({len(refs)} in all)" if len(refs) > 5 else "")
        raise OfflineAssetError(f"the web map still references external files: {shown}")


def _element_ids(element: Element) -> list[str]:
    ids = [element._id] if getattr(element, "_id", None) else []
    for child in element._children.values():
        ids.extend(_element_ids(child))
    return ids


def _stable_ids(html: str, root: Element) -> str:
    # folium names every JS variable with a random uuid4; numbering them in page order makes the
    # same map give the same file, so a committed map only changes when its content does.
    ids = set(_element_ids(root))
    order: dict[str, str] = {}
    for match in re.finditer(r"[0-9a-f]{32}", html):
        if match.group(0) in ids and match.group(0) not in order:
            order[match.group(0)] = f"{len(order):032x}"
    if not order:
        return html
    return re.sub("|".join(order), lambda m: order[m.group(0)], html)


def offline_html(m: folium.Map) -> str:
    """Render ``m`` to one self-contained HTML page (assets inlined, checked, stable names)."""
    root = m.get_root()
    html = inline_assets(root.render())
    check_offline(html)
    return _stable_ids(html, root)


def save_offline(m: folium.Map, path: str | Path) -> Path:
    """Write ``m`` as one self-contained HTML file (atomic: temp file, then replace)."""
    path = Path(path)
    html = offline_html(m)  # before touching the disk, so a failure leaves no partial file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(html)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the file is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

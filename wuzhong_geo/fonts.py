"""Register a CJK font shipped by a pip package (mplfonts) so Chinese renders on any machine.

Two faces of the same design are used:

* ``Noto Sans CJK SC`` (the OpenType/CFF file from mplfonts) for screen output, PNG and SVG;
* ``Noto Sans CJK SC TT``, a TrueType-outline copy of it that :func:`truetype_cjk_font_path`
  converts once and caches. matplotlib can only embed TrueType outlines as a proper
  CID font (``/FontFile2``) in PDF; handed the CFF file it writes a font program that does not
  match its font dictionary, which strict viewers and print workflows reject.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

#: Font files tried in order, from the mplfonts wheel.
_CANDIDATES = ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf")
#: Family name of the TrueType copy (distinct, so it never competes with an installed Noto CJK).
TRUETYPE_FAMILY = "Noto Sans CJK SC TT"
#: Bump when the conversion changes, so stale caches are rebuilt.
_CONVERTER_VERSION = "1"
#: Hangul syllables: 11 172 glyphs no Chinese map needs; leaving them out saves a third of the work.
_SKIP_RANGES = ((0xAC00, 0xD7AF), (0xE000, 0xF8FF))


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Return the path of the bundled CJK font file (from the ``mplfonts`` package).

    Found without importing ``mplfonts`` (which imports matplotlib): Pillow draws with it too.
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the mplfonts package is missing; install it (pip install mplfonts)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    for name in _CANDIDATES:
        path = folder / name
        if path.exists():
            return path
    raise FileNotFoundError(f"no CJK font found in {folder}; reinstall mplfonts")


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib, make it the default family and return its name."""
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    mpl.rcParams["axes.unicode_minus"] = False
    return name


def cache_dir() -> Path:
    """Return the folder for generated files (``$WUZHONG_GEO_CACHE`` or ``~/.cache/wuzhong_geo``)."""
    env = os.environ.get("WUZHONG_GEO_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "wuzhong_geo"


def _cache_key(source: Path) -> str:
    import fontTools

    stat = source.stat()
    raw = f"{source.name}|{stat.st_size}|{fontTools.version}|{_CONVERTER_VERSION}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _convert_to_truetype(source: Path, target: Path) -> None:
    """Write a TrueType (quadratic ``glyf``) copy of the CFF font ``source`` to ``target``."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont

    src = TTFont(source, lazy=True, recalcTimestamp=False)
    cmap = {
        code: glyph for code, glyph in src.getBestCmap().items()
        if code <= 0xFFFF and not any(lo <= code <= hi for lo, hi in _SKIP_RANGES)
    }
    order = [".notdef"] + sorted(set(cmap.values()) - {".notdef"}, key=src.getGlyphID)
    glyph_set = src.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        # max_err in font units (1/1000 em): invisible at any print size.
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    metrics = src["hmtx"].metrics
    builder = FontBuilder(src["head"].unitsPerEm, isTTF=True)
    builder.font.recalcTimestamp = False  # keep the file (and every PDF made with it) reproducible
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: metrics[name] for name in order})
    hhea, os2 = src["hhea"], src["OS/2"]
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    builder.setupNameTable({
        "familyName": TRUETYPE_FAMILY,
        "styleName": "Regular",
        "psName": "NotoSansCJKscTT-Regular",
        "copyright": src["name"].getDebugName(0) or "",
        "licenseDescription": src["name"].getDebugName(13) or "SIL Open Font License 1.1",
        "description": f"TrueType-outline conversion of {source.name} for PDF embedding (wuzhong_geo)",
    })
    builder.setupOS2(
        sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
        achVendID=os2.achVendID, usWeightClass=os2.usWeightClass, fsType=0,
    )
    builder.setupPost()
    builder.font["head"].created = src["head"].created
    builder.font["head"].modified = src["head"].modified
    builder.save(str(target))


@lru_cache(maxsize=1)
def truetype_cjk_font_path() -> Path:
    """Return the TrueType copy of the CJK font, converting and caching it on first use (~40 s)."""
    source = cjk_font_path()
    name = f"NotoSansCJKscTT-{_cache_key(source)}.ttf"
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / "wuzhong_geo"):
        target = folder / "fonts" / name
        if target.exists():
            return target
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / "wuzhong_geo"):
        target = folder / "fonts" / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            os.close(fd)
        except OSError:
            continue
        if sys.stderr is not None:
            print("首次生成 PDF 用 TrueType 字体（约 40 秒，仅一次） / "
                  f"building the PDF font once (about 40 s): {target}", file=sys.stderr)
        try:
            _convert_to_truetype(source, Path(tmp))
            os.replace(tmp, target)  # atomic: parallel builders never see a half-written file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
    raise OSError("no writable cache folder for the PDF font; set WUZHONG_GEO_CACHE")


@lru_cache(maxsize=1)
def use_truetype_cjk_font() -> str:
    """Register the TrueType copy with matplotlib and return its family name (for PDF output)."""
    from matplotlib import font_manager

    use_cjk_font()
    font_manager.fontManager.addfont(str(truetype_cjk_font_path()))
    return TRUETYPE_FAMILY

"""Save figures reproducibly: fixed metadata, embedded fonts, text kept as text.

* PNG: no timestamp or software chunk, so the bytes depend only on the drawing.
* PDF: ``pdf.fonttype`` 42 with the TrueType copy of Noto Sans CJK SC (a CID TrueType font,
  subset, with a ToUnicode map: text stays selectable and searchable); no creation date.
* SVG: ``svg.fonttype`` ``none`` keeps every label a ``<text>`` element; a subset of the font is
  embedded as a WOFF ``@font-face`` named ``Noto Sans CJK SC`` so browsers show the same glyphs
  without the font installed. ``svg.hashsalt`` is fixed so element ids do not change between runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

from wuzhong_geo.fonts import cjk_font_path, use_cjk_font, use_truetype_cjk_font

FORMATS = ("png", "pdf", "svg")
SVG_HASHSALT = "wuzhong_geo"
PRODUCER = "wuzhong_geo (matplotlib)"


def map_date(date: dt.date | str | None = None) -> dt.date:
    """Return the date printed on maps: ``date``, else ``$SOURCE_DATE_EPOCH``, else today."""
    if isinstance(date, dt.datetime):
        return date.date()
    if isinstance(date, dt.date):
        return date
    if isinstance(date, str) and date:
        return dt.date.fromisoformat(date)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def parse_formats(formats: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return a validated tuple of output formats from ``"png,pdf"`` or a sequence."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ValueError(f"unknown format(s) {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}")
    return out


def pdf_rc() -> dict:
    """Return the rcParams under which PDFs are written (TrueType CJK font, Type 42)."""
    family = use_truetype_cjk_font()
    return {"pdf.fonttype": 42, "font.sans-serif": [family, "DejaVu Sans"]}


def pdf_metadata(title: str | None = None) -> dict:
    """Return PDF metadata without a creation date (for byte-identical output)."""
    meta = {"Creator": PRODUCER, "Producer": PRODUCER, "CreationDate": None}
    if title:
        meta["Title"] = title
    return meta


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 300, title: str | None = None) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) reproducibly and return the path."""
    use_cjk_font()
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; choose from {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        fig.savefig(path, dpi=dpi, metadata={"Software": None}, facecolor="white")
    elif fmt == "pdf":
        with mpl.rc_context(pdf_rc()):
            fig.savefig(path, dpi=dpi, metadata=pdf_metadata(title), facecolor="white")
    else:
        buffer = io.StringIO()
        with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": SVG_HASHSALT}):
            fig.savefig(buffer, format="svg", dpi=dpi, facecolor="white",
                        metadata={"Date": None, "Title": title, "Creator": PRODUCER})
        path.write_text(embed_svg_font(buffer.getvalue(), figure_text(fig)), encoding="utf-8")
    return path


def figure_text(fig: Figure) -> str:
    """Return every character drawn as text in ``fig`` (for font subsetting)."""
    chars = set()
    for text in fig.findobj(Text):
        if text.get_visible():
            chars.update(text.get_text())
    return "".join(sorted(chars))


def font_subset_woff(text: str) -> bytes:
    """Return a WOFF subset of the CJK font holding the glyphs of ``text``."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["kern", "vert", "locl"]
    options.recalc_timestamp = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    font = subset.load_font(str(cjk_font_path()), options, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + " ")
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def embed_svg_font(svg: str, text: str) -> str:
    """Insert an ``@font-face`` with the CJK font subset for ``text`` into an SVG document."""
    family = use_cjk_font()
    data = base64.b64encode(font_subset_woff(text)).decode("ascii")
    face = (f"@font-face {{font-family: '{family}'; "
            f"src: url(data:font/woff;base64,{data}) format('woff');}}\n")
    marker = '<style type="text/css">'
    if marker in svg:
        return svg.replace(marker, marker + face, 1)
    head_end = svg.index(">", svg.index("<svg")) + 1
    return svg[:head_end] + f"\n <defs><style type=\"text/css\">{face}</style></defs>" + svg[head_end:]

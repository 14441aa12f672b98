"""Register a CJK font shipped by a pip package (mplfonts) so Chinese renders on any machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

#: Font files tried in order, from the mplfonts wheel.
_CANDIDATES = ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf")


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Return the path of the bundled CJK font file (from the ``mplfonts`` package)."""
    import mplfonts

    folder = Path(mplfonts.__file__).parent / "fonts"
    for name in _CANDIDATES:
        path = folder / name
        if path.exists():
            return path
    raise FileNotFoundError(f"no CJK font found in {folder}; reinstall mplfonts")


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib, make it the default family and return its name."""
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    mpl.rcParams["axes.unicode_minus"] = False
    return name

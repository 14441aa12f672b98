"""Typography and line weights of the report maps; every colour comes from :mod:`wuzhong_geo.style`."""

from __future__ import annotations

from matplotlib import patheffects

from wuzhong_geo import style

INK = style.INK
MUTED = style.MUTED
MAP_BACKGROUND = style.WATER  # outside every land polygon is river, lake or sea

TITLE_SIZE = 17.0
SUBTITLE_SIZE = 9.5
LEGEND_SIZE = 7.5
LEGEND_TITLE_SIZE = 8.5
NOTE_SIZE = 6.3
TICK_SIZE = 6.5
LABEL_SIZE = 8.0          # town names
SMALL_LABEL_SIZE = 6.5    # places, infrastructure
CONTEXT_LABEL_SIZE = 7.0  # neighbouring districts
WATER_LABEL_SIZE = 11.0

DISTRICT_LW = 1.4
TOWN_LW = 0.5
CONTEXT_LW = 0.5


def halo(width: float = 2.2, colour: str = style.HALO) -> list:
    """Return path effects drawing a halo behind text (readable over lines and fills)."""
    return [patheffects.withStroke(linewidth=width, foreground=colour)]


def darker(colour: str, amount: float = 0.35) -> str:
    """Return ``colour`` mixed with black (text in a light line colour stays readable)."""
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(colour)
    return to_hex((r * (1 - amount), g * (1 - amount), b * (1 - amount)))

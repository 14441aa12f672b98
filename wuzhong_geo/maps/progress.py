"""Progress bars that show on a terminal and stay silent when output is piped or captured."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _screen() -> dict[str, int]:
    """tqdm settings for terminals that report a 0 x 0 size (bare ptys, some container consoles),
    where tqdm would hide the bar; empty (tqdm follows the terminal) otherwise."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return {}
    if size.columns and size.lines:
        return {}
    return {"ncols": size.columns or int(os.environ.get("COLUMNS") or 100),
            "nrows": size.lines or int(os.environ.get("LINES") or 24)}


def progress_bar(items: Iterable[T], *, desc: str, enabled: bool | None = None,
                 total: int | None = None, unit: str = "map",
                 label: Callable[[T], str] | None = None) -> Iterator[T]:
    """Iterate ``items`` with a tqdm bar on stderr when it is a terminal (or ``enabled`` is True).

    ``label`` names the item being worked on (shown after the bar), so a slow map is recognisable.
    """
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not enabled:
        yield from items
        return
    from tqdm import tqdm

    with tqdm(items, desc=desc, total=total, unit=unit, leave=True, file=sys.stderr, **_screen()) as bar:
        for item in bar:
            if label is not None:
                bar.set_postfix_str(label(item))
            yield item

"""Progress bars that show on a terminal and stay silent when output is piped or captured."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


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

    with tqdm(items, desc=desc, total=total, unit=unit, leave=True, file=sys.stderr) as bar:
        for item in bar:
            if label is not None:
                bar.set_postfix_str(label(item))
            yield item

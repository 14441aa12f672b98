"""An output folder written all-or-nothing: everything goes to a temporary sibling, then moves in place.

The shared machinery is :mod:`wuzhong_geo.outdir` (the same for every command): the target is
checked first, the temporary folder is on the same file system (the final moves are renames), old
outputs are put back if any one of them cannot be replaced, and a run that fails leaves the target
as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wuzhong_geo.outdir import publish, staging


@contextmanager
def atomic_folder(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success its files replace those of ``out_dir`` all together."""
    with staging(out_dir) as tmp:
        yield tmp
        publish(tmp, Path(out_dir))

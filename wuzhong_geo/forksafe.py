"""Whether this process may fork a child that goes on running Python (check workers, the GPKG writer)."""

from __future__ import annotations

import multiprocessing
import threading


def fork_is_safe() -> bool:
    """True when this process can fork workers: ``fork`` exists and no other thread is running.

    A fork copies only the forking thread: a lock another thread held would stay locked in the child.
    """
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1

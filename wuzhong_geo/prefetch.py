"""Read ahead: produce the next chunk of an iterator on a thread while the current one is checked.

Arrow slicing, coordinate parsing and pyproj run in C without the GIL, so reading a chunk overlaps
the check of the previous one. Shapely's point creation keeps the GIL (two threads creating 10⁶
points each take longer than one after the other), so that part shares the check's core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield the items of ``items`` in order, producing up to ``depth`` ahead on a worker thread.

    An error raised while producing an item is raised here, at that item's place. Leaving the
    loop early (break, an error in the consumer) stops the producer and closes ``items``.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failed(error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()

"""Bundled plan tables validated with pandera once per version of the data and code, not on every run.

Importing pandera and running its checks costs a new process about half a second (it pulls in
Hypothesis); the bundled tables change only when their files or this package do. So a successful
validation leaves a marker in the disk cache (:mod:`wuzhong_geo.diskcache`), keyed by
:func:`~wuzhong_geo.diskcache.data_state`, and later processes skip it. With the cache off
(``WUZHONG_GEO_CACHE=off``) every run validates.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from wuzhong_geo import diskcache


def validated(name: str, frame: pd.DataFrame, schema: Callable[[], object]) -> pd.DataFrame:
    """``frame`` checked against ``schema()`` (a pandera DataFrameSchema) unless already checked at this version."""

    def check() -> bool:
        schema().validate(frame)  # raises on a bad table; nothing is cached then
        return True

    diskcache.cached("validated", (name, diskcache.data_state()), check)
    return frame

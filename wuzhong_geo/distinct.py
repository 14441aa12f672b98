"""Distinct values of a chunk's rows as integer codes, by hashing (no sort).

The check composes its texts (messages, flags, plan passages) once per distinct combination of
values and broadcasts them by code. Which code a combination gets does not matter there (the
texts become categoricals with sorted categories), so the codes come from one hash pass in
order of first appearance instead of ``np.unique``'s sort (about 5× faster at 25,000 rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def distinct_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code of each row's integer ``key`` (0, 1, … in order of first appearance) and each code's first row."""
    codes, _ = pd.factorize(np.asarray(key), use_na_sentinel=False)
    codes = np.asarray(codes, dtype=np.int64)
    # a code is new where it exceeds every code before it (codes are handed out in row order)
    seen = np.maximum.accumulate(codes)
    new = np.ones(len(codes), dtype=bool)
    new[1:] = codes[1:] > seen[:-1]
    return codes, np.flatnonzero(new)

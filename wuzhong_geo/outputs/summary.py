"""Counts of result values accumulated chunk by chunk, and summary.json."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: summary key -> result column counted.
COUNTED = {
    "status": "status",
    "flag_level": "flag_level",
    "functional_zone": "functional_zone",
    "town": "name",
    "management_zone": "management_zone",
    "subregion": "subregion",
    "geometry_type": "geometry_type",
    "rule_category": "rule_category",
}


class Counts:
    """Value counts of the counted columns, of single flags and of swapped coordinates."""

    def __init__(self):
        self.rows = 0
        self.counters = {key: Counter() for key in COUNTED}
        self.flags = Counter()
        self.swapped = 0

    def add(self, sites: pd.DataFrame) -> None:
        """Count one chunk of results (columns missing from it are skipped)."""
        self.rows += len(sites)
        for key, col in COUNTED.items():
            if col not in sites:
                continue
            self.counters[key].update(
                {k: n for k, n in value_counts(sites[col]) if k != "" or key == "flag_level"}
            )
        if "flags" in sites:
            # split each distinct set of flags once (a few dozen per chunk), not every row's
            for text, n in value_counts(sites["flags"]):
                if text != "":
                    for flag in text.split(";"):
                        self.flags[flag] += n
        self.swapped += int(sites["coordinates_swapped"].fillna(False).sum())

    def merge(self, other: Counts) -> None:
        """Add another set of counts (a Dask partition's)."""
        self.rows += other.rows
        for key, counter in other.counters.items():
            self.counters[key].update(counter)
        self.flags.update(other.flags)
        self.swapped += other.swapped


def value_counts(values: pd.Series) -> list[tuple[str, int]]:
    """``values.astype("string").fillna("").value_counts()`` as ``(text, count)`` pairs, by codes.

    The same counts in the same order (most common first, ties in order of first appearance, as
    pandas' stable sort gives them: the order :class:`Counter` keeps new keys in, which breaks
    ties in ``most_common``), without converting the column: each distinct value is counted by
    its code and turned into text once. Missing values count as ``""``.
    """
    merged: dict[str, int] = {}  # "" and missing (or values with the same text) are one key
    for value, n in _distinct_counts(values):
        text = "" if value is None else str(value)
        merged[text] = merged.get(text, 0) + n
    return sorted(merged.items(), key=lambda item: -item[1])  # sorted() is stable


def _distinct_counts(values: pd.Series) -> list[tuple[object, int]]:
    """Each distinct value (None: missing) and its count, in order of first appearance."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # Arrow text (the result columns): one hash pass of pyarrow, no codes per row
        found = pc.value_counts(pa.array(values))
        return list(zip(found.field(0).to_pylist(), found.field(1).to_pylist()))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    entries = [(u, int(n)) for u, n in zip(uniques, counts[1:])]  # codes: order of first appearance
    if counts[0]:  # missing: its place is after the distinct values seen before its first row
        first = int(np.argmax(codes < 0))
        entries.insert(int(codes[:first].max()) + 1 if first else 0, (None, int(counts[0])))
    return entries


def ordered(counter: Counter, order: list[str] | None = None) -> dict:
    """Counts in a given order (unknown keys after, sorted), or most common first."""
    if order:
        keys = [k for k in order if k in counter] + sorted(k for k in counter if k not in order)
    else:
        keys = [k for k, _ in counter.most_common()]
    return {k: counter[k] for k in keys}


def write_summary(summary: dict, path: Path) -> None:
    """Write summary.json (UTF-8, Chinese kept readable)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2, default=str)

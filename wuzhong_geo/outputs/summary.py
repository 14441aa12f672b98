"""Counts of result values accumulated chunk by chunk, and summary.json."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

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
            counts = sites[col].astype("string").fillna("").value_counts()
            self.counters[key].update(
                {str(k): int(v) for k, v in counts.items() if k != "" or key == "flag_level"}
            )
        if "flags" in sites:
            flags = sites["flags"].astype("string").fillna("")
            # split each distinct set of flags once (a few dozen per chunk), not every row's
            for text, n in flags[flags != ""].value_counts().items():
                for flag in str(text).split(";"):
                    self.flags[flag] += int(n)
        self.swapped += int(sites["coordinates_swapped"].fillna(False).sum())

    def merge(self, other: Counts) -> None:
        """Add another set of counts (a Dask partition's)."""
        self.rows += other.rows
        for key, counter in other.counters.items():
            self.counters[key].update(counter)
        self.flags.update(other.flags)
        self.swapped += other.swapped


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

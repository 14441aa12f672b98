"""summary.json's counts: value counts by code, the same counts and order as pandas' value_counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wuzhong_geo.outputs.summary import COUNTED, Counts, value_counts


def _pandas_counts(values: pd.Series) -> list[tuple[str, int]]:
    """What summary.json counted before: convert to text, missing as "", pandas' value_counts."""
    counts = values.astype("string").fillna("").value_counts()
    return [(str(k), int(v)) for k, v in counts.items()]


@pytest.mark.parametrize("flavour", ["object", "str", "string", "category"])
def test_value_counts_match_pandas_including_order_of_ties(flavour):
    rng = np.random.default_rng(7)
    pool = np.array(["ok", "", None, "警告", "b", "a"], dtype=object)
    for n in (0, 1, 3, 10, 200):
        values = pool[rng.integers(0, len(pool), n)]
        series = pd.Series(values, dtype=flavour)
        if flavour == "category":  # categories no row holds are not counted
            series = series.cat.add_categories(["unused"])
        assert value_counts(series) == _pandas_counts(series)
    # missing and "" are one key; ties keep the order values first appear in
    series = pd.Series(["b", None, "a", "", "a", "b"], dtype=flavour)
    assert value_counts(series) == [("b", 2), ("", 2), ("a", 2)]


def _results(columns: dict, n: int) -> pd.DataFrame:
    frame = pd.DataFrame({col: pd.Series([None] * n, dtype=object) for col in COUNTED.values()})
    frame["flags"] = pd.Series([None] * n, dtype=object)
    frame["coordinates_swapped"] = pd.array([None] * n, dtype="boolean")
    for col, values in columns.items():
        frame[col] = values
    return frame


def test_counts_of_an_empty_chunk_and_of_all_missing_columns():
    counts = Counts()
    counts.add(_results({}, 0))
    assert counts.rows == 0 and not any(counts.counters.values()) and not counts.flags
    counts.add(_results({}, 3))  # every counted column missing: only flag_level counts ""
    assert counts.rows == 3 and counts.swapped == 0
    assert counts.counters["flag_level"] == {"": 3}
    assert not any(c for key, c in counts.counters.items() if key != "flag_level")
    assert not counts.flags


def test_counts_split_flags_and_count_swapped_rows():
    counts = Counts()
    counts.add(_results({
        "status": ["ok", "ok", "outside_district", None],
        "name": pd.Categorical(["木渎镇", None, "木渎镇", ""]),
        "flags": pd.Series(["a;b", "", None, "b"], dtype="str"),
        "flag_level": ["warning", "", None, "note"],
        "coordinates_swapped": pd.array([True, None, False, True], dtype="boolean"),
    }, 4))
    assert counts.counters["status"] == {"ok": 2, "outside_district": 1}
    assert counts.counters["town"] == {"木渎镇": 2}
    assert counts.counters["flag_level"] == {"warning": 1, "": 2, "note": 1}
    assert counts.flags == {"a": 1, "b": 2}
    assert counts.swapped == 2

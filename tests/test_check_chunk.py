"""check_chunk across chunks: what a run finds once (lookups, lines, indexes) gives each chunk's answers."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from wuzhong_geo.check import check_chunk
from wuzhong_geo.classify import classify_points, current_lookup
from wuzhong_geo.pipeline import open_check

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "projects.csv"


def test_classify_points_with_the_lookup_found_once():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(120.2, 120.9, 500), rng.uniform(30.9, 31.4, 500)
    pd.testing.assert_frame_equal(
        classify_points(lon, lat, lookup=current_lookup()), classify_points(lon, lat))


def test_chunks_share_the_runs_memo_and_a_pickled_context_rebuilds_it():
    """The memo (lookup, lines, empty table) is per process: a context is pickled without it."""
    check = open_check(SAMPLE)
    ctx, info = check.context, check.info
    chunks = list(check.reader.chunks(10))
    first = [check_chunk(c, ctx, info) for c in chunks]
    assert {"classify_lookup", "uncertainty_lines", "boundary_error", "empty_zone_parts"} <= set(ctx._memo)
    again = [check_chunk(c, ctx, info) for c in chunks]  # from the memo: the same answers
    copy = pickle.loads(pickle.dumps(ctx))
    assert copy._memo == {}
    fresh = [check_chunk(c, copy, info) for c in chunks]
    for (a, za), (b, zb), (c, zc) in zip(first, again, fresh):
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)
        pd.testing.assert_frame_equal(za, zb)
        pd.testing.assert_frame_equal(za, zc)
    # each chunk gets its own zone-parts table, not the memo's
    assert first[0][1] is not again[0][1]


def test_list_contains_tests_whole_items_per_distinct_pair():
    from wuzhong_geo.judge import _list_contains

    lists = pd.Series(["320506100、320506004", "320506100", None, "", "320506004", "320506100"] * 50)
    values = pd.Series(["320506004", "3205061", "320506100", None, None, "320506100"] * 50)
    # a whole item only (not a prefix); a missing list holds nothing; a missing value is nowhere
    assert _list_contains(lists, values).tolist() == [True, False, False, False, False, True] * 50
    assert _list_contains(lists[:0], values[:0]).tolist() == []

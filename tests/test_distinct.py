"""distinct_rows: the codes the check composes its texts by, from one hash pass."""

from __future__ import annotations

import numpy as np
import pytest

from wuzhong_geo.distinct import distinct_rows


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_codes_number_distinct_keys_in_order_of_first_appearance(n):
    rng = np.random.default_rng(n)
    key = rng.integers(-5, 40, n) * 1_000_003  # negative and large keys too
    codes, first = distinct_rows(key)
    assert len(first) == len(set(key.tolist()))  # one code per distinct key
    assert np.array_equal(key[first][codes], key)  # each row's code names its key
    assert np.array_equal(first, np.sort(first))  # codes 0, 1, … as they first appear
    assert all(codes[f] == i and not (codes[:f] == i).any() for i, f in enumerate(first))

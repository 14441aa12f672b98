"""The nearest-segment index: the same numbers and features as comparing every segment, on and off its grids."""

import numpy as np
import shapely

from wuzhong_geo import layers
from wuzhong_geo.nearest import SPAN_M, SegmentIndex, _segment_distance, segment_index
from wuzhong_geo.settings import ANALYSIS_CRS


def _brute(index: SegmentIndex, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = _segment_distance(
        x[:, None], y[:, None], index.a[:, 0], index.a[:, 1], index.b[:, 0], index.b[:, 1]
    )
    best = np.argmin(d, axis=1)  # the lowest segment among equal distances
    return d[np.arange(len(x)), best], index.owner[best]


def _points(bounds, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    pad = 0.6 * SPAN_M  # well beyond every grid: the coarse grid and the brute-force path
    x = rng.uniform(x0 - pad, x1 + pad, n)
    y = rng.uniform(y0 - pad, y1 + pad, n)
    return np.append(x, [np.nan, np.inf, x0]), np.append(y, [y0, y0, -np.inf])


def test_dense_and_sparse_indexes_equal_comparing_every_segment():
    outline = layers.district().to_crs(ANALYSIS_CRS).geometry.union_all()  # dense: fine + coarse grid
    roads = list(layers.infrastructure().to_crs(ANALYSIS_CRS).geometry[:6])  # sparse: one wide grid
    for geoms in ([outline], roads):
        index = segment_index(geoms)
        x, y = _points(shapely.total_bounds(np.asarray(geoms, dtype=object)), 5_000, seed=len(geoms))
        dist, which = index.query(x, y)
        finite = np.isfinite(x) & np.isfinite(y)
        want_d, want_w = _brute(index, x[finite], y[finite])
        np.testing.assert_array_equal(dist[finite], want_d)  # bit for bit, not approximately
        np.testing.assert_array_equal(which[finite], want_w)
        assert np.isnan(dist[~finite]).all() and (which[~finite] == -1).all()
    assert segment_index([outline]).outer is not None


def test_ties_go_to_the_first_feature():
    # two parallel lines 10 m either side of the points: every point is equally near both
    lines = [shapely.LineString([(0, 10), (5000, 10)]), shapely.LineString([(0, -10), (5000, -10)])]
    index = SegmentIndex(lines, cell=250.0, coarse=2000.0)
    x = np.linspace(-40_000, 45_000, 501)
    dist, which = index.query(x, np.zeros_like(x))
    want_d, want_w = _brute(index, x, np.zeros_like(x))
    np.testing.assert_array_equal(dist, want_d)
    assert (which == 0).all() and (want_w == 0).all()


def test_points_in_several_blocks_get_the_answers_of_one():
    """More points than a block: queried block by block, with the same numbers as in one pass."""
    lines = [shapely.LineString([(0, 0), (5_000, 3_000), (9_000, 0)]), shapely.LineString([(0, 8_000), (9_000, 9_000)])]
    index = SegmentIndex(lines, cell=500.0)
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-1_000, 10_000, 5_000), rng.uniform(-1_000, 10_000, 5_000)
    whole = index.query(x, y)
    index.block = 700
    blocks = index.query(x, y)
    np.testing.assert_array_equal(blocks[0], whole[0])
    np.testing.assert_array_equal(blocks[1], whole[1])
    np.testing.assert_array_equal(whole[0], _brute(index, x, y)[0])

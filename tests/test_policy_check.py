"""The site check's policy columns (policies, plan_basis), the policy_area rule condition and the report."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from typer.testing import CliRunner

from plan_text import sections, squeeze
from wuzhong_geo import rules
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.pipeline import check_sites

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "projects.csv"
_CITED = re.compile(r"(第[一二三四五六七八九十]+章(?:第[一二三四五六七八九十]+节)?)「([^」]+)」")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return check_sites(SAMPLE).set_index("row_id", drop=False)


def test_policies_and_plan_basis_columns(sample):
    luzhi_old_town = sample.loc[2]  # the sample's 甪直古镇 row
    assert {"HE01", "HE06"} <= set(luzhi_old_town["policies"].split("、"))
    assert "积极推进甪直古镇申报世界文化遗产" in luzhi_old_town["plan_basis"]
    shore = sample.loc[9]  # 2 km band: the plan's 3 km band and the law's first-level zone
    assert {"SH01", "SH02"} <= set(shore["policies"].split("、"))
    outside = sample[sample["status"] == "outside_district"]
    assert outside["policies"].isna().all()


def test_every_plan_basis_quote_is_verbatim(sample):
    text = sections()
    quotes = {q for basis in sample["plan_basis"].dropna() for q in _CITED.findall(basis)}
    assert len(quotes) > 10
    for ref, quote in quotes:
        assert squeeze(quote) in text[ref], (ref, quote)


def test_default_rules_use_the_cited_distances(sample):
    matrix = rules.load_rules()
    ids = {r.id: r for r in matrix.rules}
    assert ids["near_taihu_shore"].when.taihu_shore_within_m == 3000
    assert "第一章第一节" in ids["near_taihu_shore"].basis
    assert ids["industrial_near_taihu"].when.policy_area == ["SH02"] and "条例" in ids["industrial_near_taihu"].basis
    assert "本项目设定" in ids["large_site"].basis
    flagged = sample[sample["flags"].str.contains("industrial_near_taihu", na=False)]
    assert not flagged.empty and flagged["policies"].str.contains("SH02").all()


def test_policy_area_condition_by_name_and_its_errors():
    with open(rules.default_rules_path(), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    mine = copy.deepcopy(data)
    mine["rules"] = [{"id": "on_the_island", "severity": "note", "message": "生态岛",
                      "when": {"policy_area": ["太湖生态岛"]}}]
    assert rules.parse_rules(mine).rules[0].when.policy_area == ["EC01"]
    mine["rules"][0]["when"]["policy_area"] = ["不存在的区"]
    with pytest.raises(InputError, match="policy_area"):
        rules.parse_rules(mine, source="mine.yaml")


def test_report_shows_the_plan_basis(tmp_path):
    result = CliRunner().invoke(app, ["check", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "规划依据（原文）" in report and "第二章第四节「" in report


def _reference_policies(geoms, index) -> list[str | None]:
    """Brute force: every site against every area with shapely, ids joined in area order."""
    found = []
    for g in geoms:
        hit = [index.ids[k] for k, area in enumerate(index.geoms) if g is not None and shapely.intersects(g, area)]
        found.append("、".join(hit) if hit else None)
    return found


def test_policy_columns_match_brute_force_on_random_points_vertices_and_polygons():
    from wuzhong_geo.chunk import prepare_chunk
    from wuzhong_geo.context import build_context
    from wuzhong_geo.inputs import InputInfo
    from wuzhong_geo.policy_check import build_policy_index, policy_columns

    index = build_policy_index()
    rng = np.random.default_rng(13)
    xmin, ymin, xmax, ymax = shapely.total_bounds(index.geoms)
    x = rng.uniform(xmin, xmax, 3000)
    y = rng.uniform(ymin, ymax, 3000)
    # points exactly on area vertices and edge midpoints (boundary counts as touching)
    ring = shapely.get_coordinates(shapely.boundary(index.geoms))[::7]
    x, y = np.concatenate([x, ring[:, 0]]), np.concatenate([y, ring[:, 1]])
    points = shapely.points(x, y)
    polygons = shapely.buffer(points[:200:5], 800.0)
    lines = shapely.linestrings(np.stack([np.column_stack([x[:100:5], y[:100:5]]),
                                          np.column_stack([x[1:101:5], y[1:101:5]])], axis=1))
    analysis = np.concatenate([points, polygons, lines, [None]])
    storage = gpd.GeoSeries(analysis, crs="EPSG:4549").to_crs("EPSG:4326")
    sites = gpd.GeoDataFrame(geometry=storage, crs="EPSG:4326")
    sites["_status"] = None
    chunk = prepare_chunk(sites, InputInfo(source="t", format="t"))
    # the exact EPSG:4549 geometries the brute force uses (no reprojection round trip)
    plain = np.flatnonzero(chunk.plain)
    assert plain.tolist() == list(range(len(x)))
    chunk.x[plain], chunk.y[plain] = x, y
    chunk.analysis[~chunk.plain] = analysis[~chunk.plain]
    chunk.out["code"], chunk.out["functional_zone"] = None, None
    got = policy_columns(chunk, build_context(rules.load_rules()))
    expected = _reference_policies(np.where(chunk.plain, shapely.points(chunk.x, chunk.y), chunk.analysis), index)
    got = got.astype(object).where(got.notna(), None)
    assert got["policies"].tolist() == expected
    assert sum(e is not None for e in expected) > 500
    # plan_basis: the cited areas, in the same order as the ids
    cites = dict(zip(index.ids, index.citations))
    want = [None if e is None else "；".join(cites[i] for i in e.split("、")) for e in expected]
    assert got["plan_basis"].tolist() == want


@pytest.mark.parametrize("n_areas", [1, 63, 64, 65, 130])
def test_area_sets_decode_every_bit_of_every_word(n_areas):
    """More than 64 areas span several words: each site's set lists exactly its bits, in order."""
    from wuzhong_geo.policy_check import _area_sets

    rng = np.random.default_rng(n_areas)
    held = rng.random((400, n_areas)) < 0.04
    held[0] = False  # a site in no area
    held[1] = True  # a site in every area (the highest bit of each word included)
    masks = np.zeros((len(held), (n_areas + 63) // 64), dtype=np.uint64)
    for k in range(n_areas):
        masks[held[:, k], k // 64] |= np.uint64(1) << np.uint64(k % 64)
    code, sets = _area_sets(masks, n_areas)
    assert [sets[c].tolist() for c in code] == [np.flatnonzero(row).tolist() for row in held]
    assert len(sets) == len({tuple(row) for row in held})  # one entry per distinct set


def test_area_sets_of_an_empty_chunk():
    from wuzhong_geo.policy_check import _area_sets

    code, sets = _area_sets(np.zeros((0, 2), dtype=np.uint64), 70)
    assert code.shape == (0,) and sets == []

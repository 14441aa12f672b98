"""The rule matrix: the documented default loads, bad keys and values are named, rules evaluate."""

from __future__ import annotations

import numpy as np
import copy

import pandas as pd
import pytest
import yaml

from wuzhong_geo import rules
from wuzhong_geo.errors import InputError


@pytest.fixture(scope="module")
def default_data() -> dict:
    with open(rules.default_rules_path(), encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_default_rules_load_and_cover_the_issue_examples():
    matrix = rules.load_rules()
    ids = {r.id: r for r in matrix.rules}
    assert ids["industrial_in_eco_belt"].severity == "warning"
    assert (
        ids["near_taihu_shore"].severity == "warning"
        and ids["near_taihu_shore"].when.taihu_shore_within_m
    )
    assert ids["crosses_zone_boundary"].severity == "note"
    assert "industrial" in matrix.categories


def _error(data: dict) -> str:
    with pytest.raises(InputError) as exc:
        rules.parse_rules(data, source="mine.yaml")
    return str(exc.value)


def test_unknown_key_is_named_with_its_place(default_data):
    data = copy.deepcopy(default_data)
    data["rules"][1]["when"]["colour"] = "red"
    message = _error(data)
    assert "colour" in message and "rules[1].when" in message and "mine.yaml" in message
    data = copy.deepcopy(default_data)
    data["thresholds"] = {}
    assert "thresholds" in _error(data)


@pytest.mark.parametrize(
    "path, value, needle",
    [
        (("rules", 0, "when", "functional_zone"), ["生态带"], "生态带"),
        (("rules", 0, "severity"), "critical", "critical"),
        (("rules", 0, "when", "category"), ["mining"], "mining"),
        (("rules", 0, "when", "town"), ["天堂镇"], "天堂镇"),
        (("infrastructure", "kinds"), ["teleporter"], "teleporter"),
        (("rules", 0, "when", "status"), ["fine"], "fine"),
    ],
)
def test_unknown_values_are_named(default_data, path, value, needle):
    data = copy.deepcopy(default_data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert needle in _error(data)


def test_duplicate_ids_and_empty_conditions_are_refused(default_data):
    data = copy.deepcopy(default_data)
    data["rules"].append(copy.deepcopy(data["rules"][0]))
    assert "used twice" in _error(data)
    data = copy.deepcopy(default_data)
    data["rules"][0]["when"] = {}
    assert "no condition" in _error(data)


def test_town_names_accept_aliases(default_data):
    data = copy.deepcopy(default_data)
    data["rules"][0]["when"]["town"] = ["甬直", "320506109"]
    matrix = rules.parse_rules(data)
    assert matrix.rules[0].when.town == ["320506100", "320506109"]


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match="YAML"):
        rules.load_rules(bad)
    with pytest.raises(InputError, match="not found"):
        rules.load_rules(tmp_path / "nope.yaml")


def test_categorise_takes_the_first_matching_category():
    matrix = rules.load_rules()
    got = rules.categorise(
        pd.Series(["工业", "精密机械厂房", "民宿", None, "绿化"]), matrix.categories
    )
    assert got.tolist()[:3] == ["industrial", "industrial", "tourism"]
    assert got.isna().tolist()[3:] == [True, True]


def test_apply_rules_on_columns():
    matrix = rules.parse_rules(
        {
            "version": 1,
            "source": "test",
            "confidence": "low",
            "categories": {"industrial": {"label": "工业", "keywords": ["工业"]}},
            "rules": [
                {
                    "id": "eco_industry",
                    "severity": "warning",
                    "message": "工业在生态带",
                    "when": {"category": ["industrial"], "functional_zone": ["生态文旅带"]},
                },
                {
                    "id": "shore",
                    "severity": "note",
                    "message": "近湖",
                    "when": {"taihu_shore_within_m": 500},
                },
                {
                    "id": "far_metro",
                    "severity": "note",
                    "message": "远离地铁",
                    "when": {"infrastructure_beyond_m": {"metro_line": 1000}},
                },
            ],
        }
    )
    sites = pd.DataFrame(
        {
            "status": ["ok", "ok", "in_taihu_water", "ok"],
            "rule_category": ["industrial", "industrial", "industrial", None],
            "geometry_type": ["point"] * 4,
            "functional_zones": ["先进制造轴、生态文旅带", "先进制造轴", "", "生态文旅带"],
            "management_zones": [""] * 4,
            "subregion": [None] * 4,
            "town_codes": [""] * 4,
            "taihu_shore_m": [100.0, 2000.0, 50.0, 400.0],
            "area_ha": [float("nan")] * 4,
            "length_m": [float("nan")] * 4,
            "dist_metro_line_m": [500.0, 3000.0, 10.0, float("nan")],
            "crosses_zone_boundary": [True, False, False, False],
            "crosses_town_boundary": [False] * 4,
            "partly_outside_district": [False] * 4,
            "coordinates_swapped": [False] * 4,
            "town_match": pd.array([pd.NA] * 4, dtype="boolean"),
        }
    )
    out = rules.apply_rules(matrix, sites)
    assert out["flags"].tolist() == ["eco_industry;shore", "far_metro", "", "shore"]
    assert out["flag_level"].tolist() == ["warning", "note", "", "note"]
    assert out["flag_notes"].iloc[0] == "工业在生态带；近湖"


def test_rule_sets_are_coded_exactly_for_many_rules():
    from wuzhong_geo.rules import _row_sets

    rng = np.random.default_rng(13)
    for columns in (0, 1, 11, 56, 57, 130):
        held = rng.random((500, columns)) < 0.1
        held[:50] = held[50:100]  # repeated sets share a code
        code, sets = _row_sets(held)
        assert np.array_equal(sets[code], held)
        assert len(sets) == len(np.unique(held, axis=0))


def test_contains_any_matches_words_literally_and_ignores_missing_text():
    texts = pd.Series(["工业园 (A+B)", "a.b", "AXB", None, "Hotel"], dtype="string")
    assert rules.contains_any(texts, ["(A+B)", "hotel"], case=False).tolist() == [
        True, False, False, False, True]
    assert rules.contains_any(texts, ["a.b"]).tolist() == [False, True, False, False, False]
    assert rules.contains_any(texts, ["hotel"]).tolist() == [False] * 5  # case kept
    # no words: the empty pattern every text holds, as str.contains("") (missing stays False)
    assert rules.contains_any(texts, []).tolist() == [True, True, True, False, True]
    assert rules.contains_any(pd.Series([], dtype=object), ["x"]).tolist() == []


def test_any_of_and_isin_on_distinct_values_match_row_by_row():
    """The rule columns are tested per distinct value and broadcast: same answer as per row."""
    rng = np.random.default_rng(5)
    lists = np.array(["先进制造轴、生态文旅带", "先进制造轴", "", None, "a.b", "axb"], dtype=object)
    statuses = np.array(["ok", "outside_district", None, "in_taihu_water"], dtype=object)
    sites = pd.DataFrame({
        "functional_zones": lists[rng.integers(0, len(lists), 300)],
        "status": pd.Categorical(statuses[rng.integers(0, len(statuses), 300)]),
    })
    factors = rules._Factors(sites)
    want = ["生态文旅带", "a.b"]
    expected = [pd.notna(v) and any(w in v.split("、") for w in want) for v in sites["functional_zones"]]
    assert factors.any_of("functional_zones", want).tolist() == expected
    expected = [v in ("ok", "in_taihu_water") for v in sites["status"]]
    assert factors.isin("status", ["ok", "in_taihu_water"]).tolist() == expected

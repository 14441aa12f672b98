"""``where``: everything the plan says about a point, each statement with a verbatim plan quote."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from plan_text import sections, squeeze
from wuzhong_geo import coords
from wuzhong_geo.cli import app
from wuzhong_geo.where import format_where, where, where_name

runner = CliRunner()
#: 金庭 (西山岛), 甪直古镇, 宝带桥, a point in Taihu, 太湖新城, outside the district
POINTS = [(120.30, 31.13), (120.858, 31.2635), (120.6495, 31.25868), (120.20, 31.05), (120.60, 31.185),
          (121.30, 31.20)]
_PRINTED = re.compile(r"(第[一二三四五六七八九十]+章(?:第[一二三四五六七八九十]+节)?)「([^」]+)」")


def _assert_verbatim(plan_ref: str, quote: str) -> None:
    text = sections()
    assert plan_ref in text, plan_ref
    assert squeeze(quote) in text[plan_ref], (plan_ref, quote)


@pytest.mark.parametrize("lon,lat", POINTS)
def test_every_citation_is_a_verbatim_substring_of_the_plan(lon, lat):
    answer = where(lon, lat)
    json.dumps(answer, ensure_ascii=False, allow_nan=False)  # JSON-safe, no NaN
    for cite in answer["citations"]:
        _assert_verbatim(cite["plan_ref"], cite["plan_quote"])
    printed = _PRINTED.findall(format_where(answer))
    for plan_ref, quote in printed:
        _assert_verbatim(plan_ref, quote)
    quoted = {(c["plan_ref"], c["plan_quote"]) for c in answer["citations"]}
    assert quoted <= set(printed)


def test_jinting_answer_names_the_island_the_zone_and_the_belt():
    answer = where(120.30, 31.13)
    assert answer["location"] == "land" and answer["town"]["name"] == "金庭镇"
    assert answer["functional_zone"]["zone"] == "生态文旅带"
    ids = {p["id"] for p in answer["policy_areas"]}
    assert {"EC01", "EC02", "SH02"} <= ids
    island = next(p for p in answer["policy_areas"] if p["id"] == "EC01")
    assert "金庭镇区域范围内" in island["legal_quote"]
    assert answer["nearest"]["expressway"]["kind"] == "expressway"


def test_luzhi_by_name_with_either_spelling_hits_the_heritage_layer():
    a, b = where_name("甬直古镇"), where_name("甪直古镇")
    assert a["query"]["matched"] == b["query"]["matched"]
    kinds = {p["kind"] for p in a["policy_areas"]}
    assert {"heritage_town", "heritage_site"} <= kinds
    assert a["town"]["name"] == "甪直镇"
    assert a["functional_zone"]["citation"]["plan_quote"] == "串联甪直、郭巷全域"


def test_town_name_resolves_to_its_seat():
    answer = where_name("光福镇")
    assert answer["query"]["matched"]["source"] in {"town", "place"}
    assert answer["town"]["name"] == "光福镇"


def test_water_and_outside():
    assert where(120.20, 31.05)["location"] == "taihu_water"
    outside = where(121.30, 31.20)
    assert outside["location"] == "outside_district" and outside["town"] is None


def test_radius_bounds_the_infrastructure_list():
    near = where(120.6495, 31.25868, radius_m=1000)
    far = where(120.6495, 31.25868, radius_m=5000)
    assert all(i["distance_m"] <= 1000 for i in near["infrastructure"])
    assert len(far["infrastructure"]) > len(near["infrastructure"])
    assert [i["distance_m"] for i in far["infrastructure"]] == sorted(i["distance_m"] for i in far["infrastructure"])


def test_gcj02_input_is_converted():
    glon, glat = coords.wgs84_to_gcj02(120.30, 31.13)
    answer = where(float(glon), float(glat), crs="gcj02")
    assert abs(answer["query"]["lon"] - 120.30) < 1e-5 and abs(answer["query"]["lat"] - 31.13) < 1e-5
    assert answer["town"]["name"] == "金庭镇"


def test_cli_text_json_and_errors():
    result = runner.invoke(app, ["where", "120.30", "31.13"])
    assert result.exit_code == 0, result.output
    assert "太湖生态岛" in result.output and "第五章第一节「高标准建设“太湖生态岛”」" in result.output
    result = runner.invoke(app, ["where", "甬直古镇", "--json", "--radius-m", "2000"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"]["radius_m"] == 2000 and data["town"]["code"] == "320506100"
    for args in (["where", "不存在的地方"], ["where", "120.3", "31.1", "--crs", "西安80"], ["where", "1", "2", "3"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "错误 / error" in result.output and "Traceback" not in result.output
    for radius in ("inf", "nan", "-5", "1e9"):  # unbounded radii are refused like --buffer-m (docs/limits.md)
        result = runner.invoke(app, ["where", "120.3", "31.1", "--radius-m", radius])
        assert result.exit_code == 2 and "--radius-m" in result.output, (radius, result.output)
        assert "max_buffer_m" in result.output or radius in ("inf", "nan", "-5")
    assert runner.invoke(app, ["where", "120.3", "31.1", "--radius-m", "0"]).exit_code == 0


def test_town_uncertainty_is_reported():
    inland = where(120.60, 31.185)["uncertainty"]
    assert inland["town_confidence"] in {"high", "medium", "low"} and inland["town_boundary_distance_m"] > 0
    island = where(120.30, 31.13)
    assert island["uncertainty"]["town_confidence"] == "high"  # 金庭 has no schematic town line
    assert "镇归属可信度" in format_where(island)

"""Checks of the hand-authored plan tables in data/plan/."""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from shapely import wkt

from plan_text import plan_text

DATA = Path(__file__).parents[1] / "data" / "plan"

TOWN_CODES = {
    "320506001", "320506003", "320506004", "320506005", "320506006", "320506009", "320506010",
    "320506100", "320506103", "320506104", "320506107", "320506108", "320506109", "320506110",
}
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 119.9, 121.0, 30.9, 31.5
CONFIDENCE = {"high", "medium", "low"}

INFRA_KINDS = {
    "high_speed_rail", "intercity_rail", "metro_line", "metro_station", "expressway", "interchange",
    "provincial_road", "urban_expressway", "trunk_road", "tunnel", "bridge", "waterway",
}
POINT_KINDS = {"metro_station", "interchange", "bridge"}
STATUSES = {"planned", "under_construction", "built", "unknown"}
PLAN_ACTIONS = {"", "争取融入", "推进开工建设", "新建", "拓建", "续建", "开工建设", "推动建设", "争取延伸", "提升通航能力"}

# every transport item of 第七章第一节, by the name used in infrastructure.csv
IN_PLAN_NAMES = {
    "通苏嘉甬高铁", "如苏湖城际铁路", "苏淀沪城际铁路", "苏锡常都市快线",
    "苏台（苏震桃）高速北段", "绕城高速太湖新城互通及连接线", "绕城高速车坊互通",
    "230省道吴中与高新区交界至藏胥路段", "230省道藏胥路至苏州湾2号隧道段",
    "南湖快速路东延", "苏同黎快速化改造", "长江路南延", "独墅湖第二通道",
    "吴中大道快速路", "东方大道（甪直段）快速路", "中环西线南延", "独墅湖大道东延", "胜浦大桥",
    "苏州湾1号隧道", "苏州湾2号隧道",
    "地铁5号线", "地铁7号线", "地铁6号线延伸线（至甪直）",
    "苏南运河", "苏申内港线", "苏申外港线", "苏西航线",
}

PLACE_CATEGORIES = {
    "admin", "heritage", "museum", "hospital", "park", "scenic_area", "cultural_tourism_cluster",
    "homestay_village", "industrial_park", "education", "sports", "logistics", "other",
}
QUALIFIERS = {"eq", "about", "ge", "gt", "le", "text"}
T2_CATEGORIES = {"创新吴中", "开放吴中", "生态吴中", "人文吴中", "幸福吴中"}
UNITS = {"%", "亿元", "件", "人", "张", "万人", "万元/亩", "公顷/亿元", "吨/万元", "平方米", "次", "分", "个", "岁",
         "万吨", "亿美元", ""}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def infra() -> pd.DataFrame:
    return _read("infrastructure.csv")


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    return _read("places.csv")


@pytest.fixture(scope="module")
def ind() -> pd.DataFrame:
    return _read("indicators_plan.csv")


@pytest.fixture(scope="module")
def actual() -> pd.DataFrame:
    return _read("indicators_actual.csv")


def _num(s: str) -> float:
    return float(s)


# ---------------------------------------------------------------- columns

def test_columns(infra, places, ind, actual):
    assert list(infra.columns) == [
        "id", "name", "name_en", "kind", "status", "status_as_of", "in_plan", "plan_action", "plan_wording",
        "plan_ref", "length_km", "geometry_wkt", "geometry_accuracy_m", "geometry_source", "source",
        "confidence", "notes"]
    assert list(places.columns) == [
        "id", "name", "name_en", "category", "plan_ref", "plan_wording", "town_code", "lon", "lat",
        "coord_source", "geometry_accuracy_m", "source", "confidence", "notes"]
    assert list(ind.columns) == [
        "table", "item_no", "sub_item", "indicator", "indicator_group", "unit", "category", "attribute",
        "target_text", "target_value", "target_qualifier", "achieved_text", "achieved_value", "is_rate",
        "source", "confidence", "notes"]
    assert list(actual.columns) == [
        "table", "item_no", "sub_item", "indicator", "unit", "year", "value", "value_kind", "growth_pct",
        "basis", "source", "confidence", "notes"]


# ---------------------------------------------------------------- indicators_plan

def test_t1_items_complete(ind):
    t1 = ind[ind.table == "T1"]
    assert sorted(set(t1.item_no.astype(int))) == list(range(1, 31))


def test_t2_items_complete(ind):
    t2 = ind[ind.table == "T2"]
    assert sorted(set(t2.item_no.astype(int))) == list(range(1, 34))
    assert set(ind.table) == {"T1", "T2"}


@pytest.mark.parametrize("table,item,n", [("T1", 12, 2), ("T1", 14, 2), ("T1", 18, 4), ("T1", 28, 2), ("T2", 8, 2)])
def test_sub_row_counts(ind, table, item, n):
    rows = ind[(ind.table == table) & (ind.item_no.astype(int) == item)]
    assert len(rows) == n
    assert (rows.sub_item != "").all()
    assert list(rows.sub_item) == list("abcd"[:n])
    assert (rows.indicator_group != "").all() and rows.indicator_group.nunique() == 1


def test_only_those_items_have_sub_rows(ind):
    with_sub = ind[ind.sub_item != ""]
    assert set(zip(with_sub.table, with_sub.item_no.astype(int))) == {
        ("T1", 12), ("T1", 14), ("T1", 18), ("T1", 28), ("T2", 8)}
    assert (ind[ind.sub_item == ""].indicator_group == "").all()
    assert not ind.duplicated(["table", "item_no", "sub_item"]).any()
    assert len(ind) == 36 + 34


def test_t1_item_18_pollutants(ind):
    rows = ind[(ind.table == "T1") & (ind.item_no == "18")]
    assert set(rows.indicator) == {"化学需氧量", "二氧化硫", "氨氮", "氮氧化物"}
    assert set(rows.target_text) == {"完成上级下达指标"}
    assert set(rows.indicator_group) == {"主要污染物排放总量削减率"}
    assert set(rows.target_qualifier) == {"text"}


def test_t2_categories_and_attributes(ind):
    t2 = ind[ind.table == "T2"]
    assert set(t2.category) == T2_CATEGORIES
    assert set(t2.attribute) <= {"预期性", "约束性"}
    assert (t2.attribute != "").all()
    cat = {int(r.item_no): r.category for r in t2.itertuples()}
    assert all(cat[i] == "创新吴中" for i in range(1, 10))
    assert all(cat[i] == "开放吴中" for i in range(10, 14))
    assert all(cat[i] == "生态吴中" for i in range(14, 18))
    assert all(cat[i] == "人文吴中" for i in range(18, 23))
    assert all(cat[i] == "幸福吴中" for i in range(23, 34))
    binding = set(t2[t2.attribute == "约束性"].item_no.astype(int))
    assert binding == {14, 15, 16, 23, 32}
    t1 = ind[ind.table == "T1"]
    assert (t1.category == "").all() and (t1.attribute == "").all()
    assert (t2.achieved_text == "").all() and (t2.achieved_value == "").all()


def test_units_qualifiers_flags(ind):
    assert set(ind.unit) <= UNITS
    assert set(ind.target_qualifier) <= QUALIFIERS
    assert set(ind.is_rate) <= {"true", "false"}
    assert set(ind.confidence) == {"high"}
    assert set(ind.source) == {"seed plan text 表1", "seed plan text 表2"}


def test_numeric_targets_parse(ind):
    for r in ind.itertuples():
        if r.target_qualifier == "text":
            assert r.target_value == "", (r.table, r.item_no)
        else:
            v = _num(r.target_value)
            assert math.isfinite(v)
            # the number must appear in the verbatim target text
            assert re.search(r"\d+(\.\d+)?", r.target_text)
            assert math.isclose(v, float(re.search(r"\d+(\.\d+)?", r.target_text).group()))
        if r.achieved_value != "":
            _num(r.achieved_value)


def _row(ind, table, item, sub=""):
    rows = ind[(ind.table == table) & (ind.item_no == str(item)) & (ind.sub_item == sub)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_specific_values(ind):
    assert _num(_row(ind, "T2", 7).target_value) == 4
    assert _num(_row(ind, "T1", 8).achieved_value) == 60.45
    r = _row(ind, "T1", 1)
    assert (r.target_text, _num(r.target_value), r.target_qualifier, _num(r.achieved_value), r.is_rate) == \
        ("年均 7 左右", 7, "about", 6.0, "true")
    r = _row(ind, "T1", 4)
    assert (r.target_qualifier, _num(r.target_value)) == ("ge", 93)
    r = _row(ind, "T2", 23)
    assert (r.target_text, r.target_qualifier, _num(r.target_value), r.attribute) == ("3 以内", "le", 3, "约束性")
    r = _row(ind, "T2", 22)
    assert (r.target_qualifier, _num(r.target_value)) == ("gt", 90)
    r = _row(ind, "T2", 16)
    assert (r.target_qualifier, _num(r.target_value), r.category) == ("about", 32, "生态吴中")
    r = _row(ind, "T2", 14)
    assert (r.target_text, r.target_qualifier, r.target_value) == ("完成上级指标要求", "text", "")
    assert _num(_row(ind, "T2", 8, "b").target_value) == 515
    assert _num(_row(ind, "T2", 33).target_value) == 14.5
    assert _row(ind, "T1", 19).achieved_value == ""
    assert _num(_row(ind, "T1", 12, "a").achieved_value) == 1.85


def test_indicator_text_matches_plan(ind):
    plan = plan_text()
    flat = re.sub(r"\s+", "", plan)
    for r in ind.itertuples():
        assert re.sub(r"\s+", "", r.indicator) in flat, r.indicator
        assert re.sub(r"\s+", "", r.target_text) in flat, r.target_text


# ---------------------------------------------------------------- infrastructure

def test_infra_ids_and_enums(infra):
    assert infra.id.is_unique
    assert (infra.id.str.match(r"^[A-Z][0-9A-Za-z]*(-S\d{2})?$")).all()
    assert set(infra.kind) <= INFRA_KINDS
    assert set(infra.status) <= STATUSES
    assert set(infra.in_plan) <= {"true", "false"}
    assert set(infra.plan_action) <= PLAN_ACTIONS
    assert set(infra.confidence) <= CONFIDENCE
    assert infra.status_as_of.str.match(r"^\d{4}-\d{2}(-\d{2})?$").all()
    assert (infra.name != "").all() and (infra.name_en != "").all() and (infra.source != "").all()
    for v in infra.length_km:
        if v != "":
            assert _num(v) > 0


def test_infra_geometry(infra):
    for r in infra.itertuples():
        assert r.geometry_wkt, r.id
        g = wkt.loads(r.geometry_wkt)
        assert not g.is_empty and g.is_valid, r.id
        expected = "Point" if r.kind in POINT_KINDS else "LineString"
        assert g.geom_type == expected, (r.id, g.geom_type)
        minx, miny, maxx, maxy = g.bounds
        assert LON_MIN <= minx and maxx <= LON_MAX, r.id
        assert LAT_MIN <= miny and maxy <= LAT_MAX, r.id
        acc = _num(r.geometry_accuracy_m)
        assert acc > 0, r.id
        assert r.geometry_source, r.id


def test_unknown_routes_are_flagged(infra):
    # a schematic line for a route that was not found must say so: low confidence, accuracy >= 3000 m
    for r in infra[infra.notes.str.contains("Route and status not found|route not found", case=False)].itertuples():
        assert _num(r.geometry_accuracy_m) >= 3000, r.id


def test_all_in_plan_items_present(infra):
    in_plan = infra[infra.in_plan == "true"]
    assert set(in_plan.name) == IN_PLAN_NAMES
    assert set(in_plan.plan_ref) == {"第七章第一节"}
    assert (in_plan.plan_action != "").all() and (in_plan.plan_wording != "").all()
    for sub in ["苏州湾2号隧道", "胜浦大桥", "苏申外港线", "苏西航线", "苏锡常都市快线", "车坊互通"]:
        assert in_plan.name.str.contains(sub, regex=False).any(), sub
    assert infra[infra.in_plan == "false"].plan_action.eq("").all()


def test_in_plan_actions(infra):
    act = dict(zip(infra.id, infra.plan_action))
    assert act["R1"] == act["R4"] == "争取融入"
    assert act["H2"] == "新建" and act["H3"] == "拓建"
    assert act["U1"] == act["U4"] == act["M5"] == act["M7"] == "续建"
    assert act["U5"] == act["B1"] == "开工建设"
    assert act["T1"] == act["T2"] == "推动建设"
    assert act["M6E"] == "争取延伸"
    assert act["W1"] == act["W4"] == "提升通航能力"


def test_infra_plan_wording_verbatim(infra, places):
    plan = plan_text()
    for w in list(infra.plan_wording) + list(places.plan_wording):
        assert w == "" or w in plan, w
    paragraph = next(line for line in plan.splitlines() if line.startswith("完善现代化交通路网体系"))
    for r in infra[infra.in_plan == "true"].itertuples():
        assert r.plan_wording in paragraph, r.id


def test_metro_lines_and_stations(infra):
    lines = set(infra[infra.kind == "metro_line"].id)
    assert {"M1", "M2", "M4", "M5", "M7", "M6E"} <= lines
    st = infra[infra.kind == "metro_station"]
    assert len(st) >= 30
    for sid in st.id:
        assert re.match(r"^M\d-S\d{2}$", sid) and sid.split("-")[0] in lines, sid
    names = {(r.id.split("-")[0], r.name) for r in st.itertuples()}
    for line, name in [("M1", "木渎站"), ("M5", "太湖香山站"), ("M5", "灵岩山站"), ("M7", "木里站"), ("M7", "红庄站"),
                       ("M2", "宝带桥南站"), ("M2", "尹山湖站"), ("M4", "石湖东路站")]:
        assert (line, name) in names
    assert (st.status == "built").all()
    # interchange stations share one point
    pts = {(r.id.split("-")[0], r.name): r.geometry_wkt for r in st.itertuples()}
    assert pts[("M2", "郭巷站")] == pts[("M7", "郭巷站")]
    assert pts[("M4", "红庄站")] == pts[("M7", "红庄站")]
    assert pts[("M2", "石湖东路站")] == pts[("M4", "石湖东路站")]


# ---------------------------------------------------------------- places

def test_places(places):
    assert places.id.is_unique and places.id.str.match(r"^P\d{3}$").all()
    assert places.name.is_unique
    assert set(places.category) <= PLACE_CATEGORIES
    assert set(places.confidence) <= CONFIDENCE
    lon = places.lon.astype(float)
    lat = places.lat.astype(float)
    assert lon.between(LON_MIN, LON_MAX).all() and lat.between(LAT_MIN, LAT_MAX).all()
    assert (places.geometry_accuracy_m.astype(float) > 0).all()
    assert (places.coord_source != "").all() and (places.source != "").all()
    assert places.category.value_counts()["cultural_tourism_cluster"] == 6
    assert places.category.value_counts()["homestay_village"] == 6
    codes = set(places.town_code) - {""}
    assert codes <= TOWN_CODES
    assert places.town_code.str.match(r"^(\d{9})?$").all()
    # estimates are never claimed at better than 1 km
    est = places[places.coord_source.str.startswith("ESTIMATE")]
    assert (est.geometry_accuracy_m.astype(float) >= 1000).all()


def test_named_clusters_and_villages(places):
    clusters = set(places[places.category == "cultural_tourism_cluster"].name)
    assert clusters == {"苏州太湖国家旅游度假区", "东山—临湖太湖原乡度假区", "木渎吴文化体验区",
                        "太湖新城—横泾—旺山都市田园休闲区", "大运河文体旅融合发展区", "甪直鱼米水乡休闲区"}
    villages = places[places.category == "homestay_village"].set_index("name")
    assert set(villages.index) == {"东山三山村", "金庭明月湾村", "甪直湖滨村", "临湖柳舍村", "越溪旺山村", "横泾东林渡"}
    assert villages.loc["甪直湖滨村", "town_code"] == "320506100"
    assert villages.loc["横泾东林渡", "town_code"] == "320506005"
    for name in ["宝带桥", "吴淞江科技产业园", "苏州湾总部经济湾区", "独墅湖开放创新协同发展示范区", "中国中医科学院大学"]:
        assert name in set(places.name), name
    bdq = places.set_index("name").loc["宝带桥"]
    assert (float(bdq.lon), float(bdq.lat)) == (120.6495, 31.25868)


# ---------------------------------------------------------------- indicators_actual

def test_actuals(actual, ind):
    assert set(actual.basis) <= {"preliminary", "final", "revised", "inferred"}
    assert set(actual.value_kind) <= {"level", "growth_rate"}
    assert set(actual.confidence) <= CONFIDENCE
    assert set(actual.table) <= {"T2", "other"}
    for r in actual.itertuples():
        assert 2015 <= int(r.year) <= 2025
        assert math.isfinite(_num(r.value))
        if r.growth_pct:
            _num(r.growth_pct)
    keys = set(zip(ind.table, ind.item_no, ind.sub_item))
    t2 = actual[actual.table == "T2"]
    for r in t2.itertuples():
        assert (r.table, r.item_no, r.sub_item) in keys, (r.item_no, r.sub_item)
    assert (actual[actual.table == "other"].item_no == "").all()


def test_gdp_series(actual):
    gdp = actual[(actual.table == "T2") & (actual.item_no == "1")]
    y2021 = gdp[gdp.year == "2021"]
    assert set(y2021.basis) == {"preliminary", "final"}
    r2024 = gdp[gdp.year == "2024"].iloc[0]
    assert _num(r2024.value) == 2005.70 and _num(r2024.growth_pct) == 5.3
    assert "census" in r2024.notes
    inferred = gdp[gdp.basis == "inferred"]
    assert len(inferred) == 1 and inferred.iloc[0].confidence == "low"


# ---------------------------------------------------------------- 甪直 spelling

@pytest.mark.parametrize("name", ["infrastructure.csv", "places.csv", "indicators_plan.csv", "indicators_actual.csv"])
def test_no_ocr_spelling_outside_quotes(name):
    df = _read(name)
    for col in df.columns:
        if col in {"plan_wording", "notes"}:
            continue
        bad = df[df[col].str.contains("甬直", regex=False)]
        assert bad.empty, (name, col, list(bad.index))


# ---------------------------------------------------------------- corrections found against the plan text

def test_status_as_of_follows_the_readme_convention(infra):
    """status_as_of = date of the newest source behind status; the plan date 2021-04 where only the plan
    speaks or status is unknown; a row citing the plan cannot predate it."""
    lines = infra.set_index("id")
    for r in infra.itertuples():
        if r.status == "unknown":
            assert r.status_as_of == "2021-04", r.id
        if "seed plan text" in r.source:
            assert r.status_as_of >= "2021-04", r.id
        station = re.match(r"^(M\w+)-S\d\d$", r.id)
        if station:  # a station's status comes from its line (or from the plan: built by 2021-04)
            assert r.status_as_of in {lines.status_as_of[station.group(1)], "2021-04"}, r.id
        elif r.status_as_of != "2021-04":  # the date must be one a cited source carries
            y, m = r.status_as_of[:4], r.status_as_of[5:7]
            assert any(f in r.source + r.notes for f in (f"{y}-{m}", f"{y}{m}", f"/{y[2:]}{m}")), r.id
    for sid in infra.id[infra.id.str.match(r"^M5-S\d\d$")]:
        assert lines.status_as_of[sid] == lines.status_as_of["M5"], sid


def test_interchanges_and_lines_the_plan_names_have_their_own_rows(infra):
    rows = infra.set_index("id")
    assert rows.loc["X5", "name"] == "蠡墅立交" and rows.loc["X5", "kind"] == "interchange"
    assert "蠡墅" not in rows.loc["X2", "name"]
    assert rows.loc["M4B", "kind"] == "metro_line" and "支线" in rows.loc["M4B", "name"]
    built_expressways = infra[(infra.kind == "expressway") & (infra.status == "built")]
    assert {"苏州绕城高速公路", "苏嘉杭高速公路"} <= set(built_expressways.name)


def test_zhoushan_nut_carving_village_is_in_xiangshan(places):
    row = places.set_index("id").loc["P055"]
    assert row["name"] == "舟山核雕村艺术街区" and row["town_code"] == "320506006"


def test_zone_membership_quotes_and_changqiao_confidence():
    z = _read("zone_membership.csv")
    assert set(z[z.code.isin(["320506100", "320506004"]) & (z.zone == "先进制造轴")].plan_wording) == {"串联甪直、郭巷全域"}
    changqiao = z[z.code == "320506001"].iloc[0]
    assert changqiao.confidence != "high" and "高新区" in changqiao.source

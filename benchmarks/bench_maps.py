"""Time the standard map set and the town atlas (PNG 300 dpi + PDF) against a plain baseline.

The baseline draws the same data with plain ``GeoDataFrame.plot`` on a page of the same size and
saves it the same way, without layout, labels, legend or furniture: the ratio is the price of
report quality. Run from the repository root::

    python benchmarks/bench_maps.py            # full: 7 maps + 14 atlas pages at 300 dpi
    python benchmarks/bench_maps.py --quick    # 100 dpi, 3 atlas pages (a smoke run)
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from wuzhong_geo import layers
from wuzhong_geo.fonts import truetype_cjk_font_path, use_cjk_font
from wuzhong_geo.maps import render_atlas, render_standard_set
from wuzhong_geo.maps.layout import PAGE_SIZES
from wuzhong_geo.maps.output import pdf_rc
from wuzhong_geo.settings import ANALYSIS_CRS

DATE = "2025-06-30"
BASELINE_LAYERS = {  # the main data of each standard map
    "01": ["context", "taihu_full", "district"],
    "02": ["town_zone_parts"],
    "03": ["subregions", "towns"],
    "04": ["towns", "management_zones"],
    "05": ["town_zone_parts", "infrastructure"],
    "06": ["town_zone_parts", "places"],
    "07": ["towns"],
}


def _layer(name):
    frame = layers.taihu_full() if name == "taihu_full" else (layers.context() if name == "context" else layers.get(name))
    return frame.to_crs(ANALYSIS_CRS)


def _plain_figure(frames, column=None):
    w, h = PAGE_SIZES["A4"]
    fig, ax = plt.subplots(figsize=(w / 25.4, h / 25.4))
    for i, frame in enumerate(frames):
        frame.plot(ax=ax, column=column if column in frame.columns else None, alpha=0.8 if i else 1.0,
                   edgecolor="black", linewidth=0.3)
    return fig


def baseline_standard(out: Path, dpi: int) -> float:
    """Plain geopandas plots of the seven maps' data, saved as PNG + PDF."""
    start = time.perf_counter()
    for slug, names in BASELINE_LAYERS.items():
        fig = _plain_figure([_layer(n) for n in names])
        fig.savefig(out / f"{slug}.png", dpi=dpi)
        with matplotlib.rc_context(pdf_rc()):
            fig.savefig(out / f"{slug}.pdf")
        plt.close(fig)
    return time.perf_counter() - start


def baseline_atlas(out: Path, dpi: int, codes: list[str]) -> float:
    """One plain plot per town (its zone parts and the places inside), PNG + one multi-page PDF."""
    from matplotlib.backends.backend_pdf import PdfPages

    start = time.perf_counter()
    parts, places, towns = _layer("town_zone_parts"), _layer("places"), _layer("towns")
    with matplotlib.rc_context(pdf_rc()), PdfPages(out / "atlas.pdf") as pdf:
        for code in codes:
            town = towns[towns["code"] == code]
            fig = _plain_figure([parts[parts["code"] == code], places[places.within(town.geometry.iloc[0])]])
            fig.axes[0].set_title(town["name"].iloc[0])
            pdf.savefig(fig)
            fig.savefig(out / f"{code}.png", dpi=dpi)
            plt.close(fig)
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 dpi and 3 atlas pages")
    parser.add_argument("--dpi", type=int, default=None)
    args = parser.parse_args()
    dpi = args.dpi or (100 if args.quick else 300)
    codes = sorted(layers.towns()["code"])[: 3 if args.quick else None]

    use_cjk_font()
    truetype_cjk_font_path()  # the one-off font conversion is not part of a map's cost
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"matplotlib {matplotlib.__version__}")
    print(f"settings: PNG {dpi} dpi + PDF, A4, {len(codes)} atlas pages")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for sub in ("std", "atlas", "base_std", "base_atlas"):
            (tmp / sub).mkdir()
        start = time.perf_counter()
        written = render_standard_set(tmp / "std", formats=("png", "pdf"), dpi=dpi, date=DATE, progress=False)
        t_std = time.perf_counter() - start
        start = time.perf_counter()
        render_atlas(tmp / "atlas" / "atlas.pdf", png_dir=tmp / "atlas", dpi=dpi, date=DATE, codes=codes,
                     progress=False)
        t_atlas = time.perf_counter() - start
        b_std = baseline_standard(tmp / "base_std", dpi)
        b_atlas = baseline_atlas(tmp / "base_atlas", dpi, codes)
        size_std = sum(p.stat().st_size for p in written) / 1e6
    print(f"{'':28s}{'wuzhong_geo':>12s}{'baseline':>10s}{'ratio':>8s}")
    print(f"{'standard set (7 maps)':28s}{t_std:11.1f}s{b_std:9.1f}s{t_std / b_std:7.1f}x")
    print(f"{f'atlas ({len(codes)} pages)':28s}{t_atlas:11.1f}s{b_atlas:9.1f}s{t_atlas / b_atlas:7.1f}x")
    print(f"{'per map / per page':28s}{t_std / 7:11.1f}s{'':10s}{'':8s}  atlas {t_atlas / len(codes):.1f}s/page")
    print(f"standard set output: {len(written)} files, {size_std:.1f} MB")


if __name__ == "__main__":
    main()

"""``wuzhong-geo osm fetch|import`` (OpenStreetMap cache) and ``wuzhong-geo coverage``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wuzhong_geo.cli.app import (
    OUT_PATH, BoundariesOption, app, apply_options, check_encoding_option, check_out, fail, number,
)
from wuzhong_geo.errors import InputError

osm_app = typer.Typer(
    help="OpenStreetMap 路网与设施缓存（osmnx）。 OpenStreetMap street networks and features cache (osmnx).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(osm_app, name="osm")

CacheOption = Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="缓存目录 Cache folder.")]
ModesOption = Annotated[str, typer.Option("--modes", help="walk,drive")]


def _modes(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def _report(meta: dict, out: Path) -> None:
    for mode, info in meta["graphs"].items():
        typer.echo(f"{mode}: {info['nodes']} nodes, {info['edges']} edges, {info['edge_length_km']} km "
                   f"-> {out / info['file']}")
    if meta["features"]:
        typer.echo("features: " + ", ".join(f"{k} {v}" for k, v in meta["features"].items()))
    typer.echo(f"{meta['attribution']} ({meta['date']})")


@osm_app.command("fetch")
def fetch_command(
    out: CacheOption = Path("out/osm"),
    modes: ModesOption = "walk,drive",
    features: Annotated[bool, typer.Option("--features/--no-features", help="同时下载设施 Also features.")] = True,
    boundaries: BoundariesOption = None,
) -> None:
    """联网下载全区步行/车行路网与设施（需要网络）。 Download networks and features for the district (online)."""
    from wuzhong_geo import network

    check_out(out)
    apply_options(boundaries)
    try:
        meta = network.fetch(out, modes=_modes(modes), features=features)
    except InputError as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 network errors from requests/osmnx: tell the user about the offline route
        fail(f"download failed ({exc}); without internet use `wuzhong-geo osm import FILE.osm --out {out}`")
    _report(meta, out)


@osm_app.command("import")
def import_command(
    osm_file: Annotated[Path, typer.Argument(help="OSM XML 文件（.osm） An OSM XML file.")],
    out: CacheOption = Path("out/osm"),
    modes: ModesOption = "walk,drive",
    features: Annotated[bool, typer.Option("--features/--no-features", help="同时提取设施 Also features.")] = True,
    clip: Annotated[bool, typer.Option("--clip/--no-clip", help="裁剪到全区外扩 1 km. Clip to the district + 1 km.")]
    = True,
    boundaries: BoundariesOption = None,
) -> None:
    """离线：从本地 .osm 文件建立同样的缓存。 Offline: build the same cache from a local .osm file."""
    from wuzhong_geo import network

    check_out(out)
    apply_options(boundaries)
    try:
        meta = network.import_osm(osm_file, out, modes=_modes(modes), features=features, clip=clip)
    except InputError as exc:
        fail(str(exc))
    _report(meta, out)


@app.command("coverage")
def coverage_command(
    facilities: Annotated[str, typer.Argument(
        help="places | places:museum,sports | osm:culture | 点文件（gpkg/geojson/csv lon,lat） a point file.")],
    minutes: Annotated[float, typer.Option("--minutes", help="时间（分钟） Travel time in minutes.",
                                           callback=number("--minutes", maximum=24 * 60))] = 10.0,
    mode: Annotated[str, typer.Option("--mode", help="walk | drive")] = "walk",
    method: Annotated[str, typer.Option("--method", help="network（OSM 路网） | buffer（直线距离）")] = "buffer",
    out: Annotated[Path, typer.Option("--out", parser=OUT_PATH, help="输出目录 Output folder.")] = Path("out/coverage"),
    cache: Annotated[Path, typer.Option("--cache", help="OSM 缓存目录 OSM cache folder.")]
    = Path("out/osm"),
    speed: Annotated[float | None, typer.Option(
        "--speed", help="速度 km/h（buffer 默认步行 4.8、车行 30；network 覆盖路段速度）. Speed override.",
        callback=number("--speed", maximum=300))] = None,
    buffer_m: Annotated[float, typer.Option("--buffer-m", help="路段缓冲（米） Street buffer (network).",
                                            callback=number("--buffer-m", limit="max_buffer_m"))] = 50.0,
    draw_map: Annotated[bool, typer.Option("--map/--no-map", help="是否出图 Draw coverage_map.png.")] = True,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="设施文件的文本编码（默认自动识别，含无 .cpg 的 GBK Shapefile）。 Text encoding of the facility file "
                           "(default: detected, GBK Shapefiles without .cpg included).")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """设施服务范围与各镇（街道）陆域覆盖比例。 Service areas and the share of each town's land covered."""
    from wuzhong_geo import coverage, network

    if mode not in network.MODES or method not in coverage.METHODS:
        fail(f"--mode {mode!r} / --method {method!r}: 可选 / choose --mode {' | '.join(network.MODES)} and "
             f"--method {' | '.join(coverage.METHODS)}")
    check_out(out)
    check_encoding_option(encoding)
    apply_options(boundaries)
    try:
        result = coverage.coverage(facilities, minutes=minutes, mode=mode, method=method, speed_kmh=speed,
                                   cache_dir=cache, buffer_m=buffer_m, encoding=encoding)
        paths = coverage.write_coverage(result, out, map_png=draw_map)
    except InputError as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"{len(result.facilities)} facilities; {result.total_share:.2%} of the district's land covered "
               f"({'; '.join(result.notes)})")

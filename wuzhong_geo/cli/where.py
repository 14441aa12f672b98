"""``wuzhong-geo where``: what the plan says about a point or a bundled place name, with citations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wuzhong_geo.cli.app import BoundariesOption, ZoneRulesOption, app, apply_options, fail, number
from wuzhong_geo.errors import InputError
from wuzhong_geo.settings import WHERE_RADIUS_M


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@app.command("where")
def where_command(
    place: Annotated[list[str], typer.Argument(
        help="经度 纬度（或 X Y），或一个随包地名（如 甪直古镇；甬直 亦可）。 LON LAT (or X Y), or one bundled place name.",
        show_default=False)],
    crs: Annotated[str, typer.Option(
        "--crs", help="坐标系：wgs84（默认）| cgcs2000 | gcj02（高德）| bd09（百度）| EPSG:n。 CRS of LON LAT.")] = "wgs84",
    radius_m: Annotated[float, typer.Option(
        "--radius-m", help="列出此距离（米）内的基础设施与政策区。 Radius (m) for nearby infrastructure and policy areas.",
        callback=number("--radius-m", inclusive_minimum=True, limit="max_buffer_m"))
    ] = WHERE_RADIUS_M,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON。 Print JSON for machines.")] = False,
    boundaries: BoundariesOption = None,
    zone_rules: ZoneRulesOption = None,
) -> None:
    """规划对此处怎么说：镇、功能区、片区、管理主体、政策区、附近规划设施，逐条附规划出处与原文。
    What the plan says about a point: town, zones, policy areas, nearby infrastructure, each with the plan's words."""
    apply_options(boundaries, zone_rules)
    from wuzhong_geo.where import format_where, where, where_name  # geopandas only when a command runs

    numbers = [_number(p) for p in place]
    try:
        if len(place) == 2 and None not in numbers:
            answer = where(numbers[0], numbers[1], crs=crs, radius_m=radius_m)
        elif len(place) == 1 and numbers[0] is None:
            answer = where_name(place[0], radius_m=radius_m)
        else:
            fail("请给出“经度 纬度”两个数，或一个地名 / give two numbers (LON LAT) or one place name, "
                 f"not {' '.join(place)!r}")
            return
    except InputError as exc:
        fail(str(exc))
        return
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2) if as_json else format_where(answer))

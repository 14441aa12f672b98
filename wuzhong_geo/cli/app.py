"""The Typer application and the options every command shares."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

try:  # Typer 0.29 ships its own copy of Click: its exceptions, not the click package's, reach us
    from typer._click.exceptions import UsageError
except ImportError:  # older Typer: Click itself
    from click import UsageError

from wuzhong_geo import limits
from wuzhong_geo.errors import InputError


class _BilingualGroup(TyperGroup):
    """Click's own usage errors (a number that is not one, a value out of range, an unknown option)
    get a Chinese line too: every bad-input message is bilingual, as ours are."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if not any("\u4e00" <= ch <= "\u9fff" for ch in exc.message):
                exc.message = f"选项或参数无效，请按 --help 改正后重试 / {exc.message}"
            raise


app = typer.Typer(
    cls=_BilingualGroup,
    name="wuzhong-geo",
    help=(
        "吴中区“十四五”规划空间结构 GIS 工具：图层、专题图、网页地图、项目选址核查。\n\n"
        "GIS toolkit for the spatial structure of Wuzhong District's 14th Five-Year Plan: "
        "layers, maps, web maps, site checks."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

BoundariesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--boundaries",
        help="官方镇（街道）边界文件（shp/zip/gpkg/geojson，任意坐标系），替换示意边界。"
        " Official town boundaries (any vector file, any CRS) replacing the schematic ones.",
        exists=False,
        dir_okay=False,
    ),
]
ZoneRulesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--zone-rules",
        help="功能区拆分规则 YAML（默认使用内置规则）。 Zone split rules YAML (default: bundled).",
        dir_okay=False,
    ),
]


def out_path(value: str | Path) -> Path:
    """Parse an output path option: refuse "" (which pathlib would read as the current folder)."""
    if isinstance(value, Path):
        return value
    if str(value).strip() == "":
        raise typer.BadParameter("输出路径为空，请给出目录或文件名 / the output path is empty; give a folder or file name")
    return Path(value)


#: ``parser`` of every output option (``--out``, ``--maps``, ``--png-dir``, ``--map``).
OUT_PATH = out_path


def fail(message: str) -> None:
    """Print a user-facing error to stderr and exit with code 2."""
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code=2)


def apply_options(boundaries: Optional[Path] = None, zone_rules: Optional[Path] = None) -> None:
    """Switch the layers to official boundaries and/or other zone rules, or fail cleanly."""
    from wuzhong_geo import layers  # on use: the CLI (and `serve`) starts without geopandas

    try:
        layers.use_boundaries(boundaries)
        layers.use_zone_rules(zone_rules)
    except InputError as exc:
        fail(str(exc))
    except (OSError, ValueError) as exc:
        which = "--zone-rules" if zone_rules is not None and boundaries is None else "--boundaries/--zone-rules"
        fail(f"{which}: 无法读取 / cannot read ({type(exc).__name__}: {_first_line(exc)})")


def check_encoding_option(encoding: str | None) -> None:
    """Fail (exit 2) for an unknown ``--encoding`` before any work."""
    if encoding is None:
        return
    from wuzhong_geo import textio

    try:
        textio.check_encoding(encoding)
    except InputError as exc:
        fail(str(exc))


def _first_line(exc: BaseException) -> str:
    """First line of an exception message, shortened: never a whole file's content echoed back."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def check_out(path: Path, *, option: str = "--out", kind: str = "folder") -> Path:
    """Refuse an unusable output path before any work (empty, a file, read-only, under /proc …)."""
    from wuzhong_geo.outdir import check_target

    try:
        return check_target(path, option=option, kind=kind)
    except InputError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def number(option: str, *, minimum: float = 0.0, maximum: float | None = None, limit: str | None = None,
           inclusive_minimum: bool = False) -> Callable[[float | None], float | None]:
    """A Typer callback refusing inf/NaN/out-of-range values of a numeric option with a bilingual message."""

    def callback(value: float | None) -> float | None:
        if value is None:
            return value
        high = limits.get(limit) if limit else maximum
        low_ok = value >= minimum if inclusive_minimum else value > minimum
        if not math.isfinite(value) or not low_ok or (high is not None and value > high):
            bound = f"{'≥' if inclusive_minimum else '>'} {minimum:g}" + (f" 且/and ≤ {high:g}" if high is not None else "")
            raise typer.BadParameter(
                f"{value!r} 不可用：须为有限数值 {bound} / must be a finite number {bound}"
                + (f"；如确需更大值 / to allow more: wuzhong-geo --limit {limit}=N …" if limit else "")
            )
        return value

    return callback


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="详细日志 Verbose logging.")] = False,
    limit: Annotated[Optional[list[str]], typer.Option(
        "--limit", help="提高资源上限，如 --limit max_columns=5000（见 docs/limits.md）。"
                        " Raise a resource limit, e.g. --limit max_columns=5000 (docs/limits.md).")] = None,
) -> None:
    """吴中区“十四五”规划 GIS 工具。 Wuzhong 14th Five-Year Plan GIS toolkit."""
    import logging

    limits.reset()
    try:
        for assignment in limit or []:
            limits.set_limit(assignment)
    except InputError as exc:
        fail(str(exc))

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")

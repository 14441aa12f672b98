"""Resource limits on untrusted input (YAML aliases, zip/XLSX inflation, columns), each one raisable.

Every limit has a default (docs/limits.md), an environment variable ``WUZHONG_GEO_<NAME>`` and the
global CLI option ``wuzhong-geo --limit name=value``. A limit is checked before the expensive work
(before a YAML graph is walked, before a zip member is inflated), so a hostile file costs milliseconds.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from wuzhong_geo.errors import InputError


@dataclass(frozen=True)
class Limit:
    """One documented limit: default value, unit and what it bounds."""

    default: float
    unit: str
    what_zh: str
    what_en: str


LIMITS: dict[str, Limit] = {
    "max_yaml_bytes": Limit(5_000_000, "bytes", "YAML 文件大小", "YAML file size"),
    "max_yaml_aliases": Limit(100, "aliases", "YAML 别名（*引用）个数", "YAML aliases (*references)"),
    "max_yaml_nodes": Limit(200_000, "nodes", "YAML 展开后的节点数", "YAML nodes after expanding aliases"),
    "max_inflated_bytes": Limit(2 << 30, "bytes", "zip/XLSX 解压后总大小", "zip/XLSX total inflated size"),
    "max_zip_members": Limit(10_000, "members", "zip/XLSX 成员文件数", "zip/XLSX member files"),
    "max_compression_ratio": Limit(200, "x", "zip/XLSX 单个成员的压缩比", "compression ratio of one member"),
    "max_xlsx_cells": Limit(60_000_000, "cells", "XLSX 工作表单元格数（行×列）", "XLSX sheet cells (rows x columns)"),
    "max_columns": Limit(2_000, "columns", "表格列数（GeoPackage 上限 2000）", "table columns (GeoPackage allows 2,000)"),
    "max_rows": Limit(10_000_000, "rows", "读入内存的表格行数（更大的点集用 --engine dask）",
                      "table rows read into memory (larger point sets: --engine dask)"),
    "max_text_bytes": Limit(2 << 30, "bytes", "整体读入内存的文本文件大小", "text file read whole into memory"),
    "max_upload_bytes": Limit(512 << 20, "bytes", "网页应用单个上传文件大小", "web app: one uploaded file"),
    "max_session_bytes": Limit(2 << 30, "bytes", "网页应用每个会话上传总量", "web app: uploads per session"),
    "max_buffer_m": Limit(100_000, "m", "缓冲/距离半径（米）", "buffer/distance radius in metres"),
}

_overrides: dict[str, float] = {}


def env_name(name: str) -> str:
    """Return the environment variable that raises limit ``name``."""
    return "WUZHONG_GEO_" + name.upper()


def get(name: str) -> float:
    """Return the value of limit ``name``: ``--limit`` override, then environment variable, then default."""
    if name in _overrides:
        return _overrides[name]
    raw = os.environ.get(env_name(name))
    if raw is not None:
        return _parse_value(name, raw, source=env_name(name))
    return LIMITS[name].default


def _parse_value(name: str, raw: str, source: str) -> float:
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InputError(f"{source}={raw!r}: 上限须为正的有限数 / a limit must be a positive finite number")
    return value


def set_limit(assignment: str) -> None:
    """Apply one ``name=value`` from the ``--limit`` option (InputError names the known limits)."""
    name, _, raw = assignment.partition("=")
    name = name.strip().lower().replace("-", "_")
    if name not in LIMITS or not raw:
        raise InputError(
            f"--limit {assignment!r}: 格式为 名称=数值，名称之一 / expected name=value with name one of: "
            + ", ".join(LIMITS)
        )
    _overrides[name] = _parse_value(name, raw.strip(), source=f"--limit {name}")


def reset() -> None:
    """Forget ``--limit`` overrides (tests and long-lived sessions)."""
    _overrides.clear()


def snapshot() -> dict[str, float]:
    """Every limit's value in this process (``--limit``, environment, default): for worker processes."""
    return {name: get(name) for name in LIMITS}


@contextmanager
def applied(values: dict[str, float]) -> Iterator[None]:
    """Use ``values`` (a :func:`snapshot`) as the limits within the block, e.g. in a Dask worker."""
    saved = dict(_overrides)
    _overrides.update(values)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


def exceeded(name: str, found: float, what: str) -> InputError:
    """Return the InputError for limit ``name`` exceeded by ``found`` in ``what`` (file, option)."""
    limit = LIMITS[name]
    cap = get(name)
    return InputError(
        f"{what}: {limit.what_zh} {found:,.0f} 超过上限 {cap:,.0f}，拒绝读取以免耗尽内存/时间；如确属正常数据，"
        f"请用 `wuzhong-geo --limit {name}=N …` 或环境变量 {env_name(name)} 提高上限（见 docs/limits.md）。 / "
        f"{limit.what_en} {found:,.0f} exceeds the limit {cap:,.0f} {limit.unit}; refused before reading. "
        f"If the file is genuine, raise it with `wuzhong-geo --limit {name}=N ...` or {env_name(name)}."
    )


def check(name: str, found: float, what: str) -> None:
    """Raise :func:`exceeded` when ``found`` is above limit ``name``."""
    if found > get(name):
        raise exceeded(name, found, what)


# --- YAML ---------------------------------------------------------------------------------------


class _BudgetLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing, so an alias bomb stops early."""

    aliases_seen = 0
    source = "YAML"

    def compose_node(self, parent, index):  # noqa: D102  (PyYAML hook)
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            check("max_yaml_aliases", self.aliases_seen, self.source)
        return super().compose_node(parent, index)


def _expanded_nodes(root: yaml.Node, source: str) -> int:
    """Count nodes as if every alias were copied out, without building anything (memoised per node)."""
    cap = get("max_yaml_nodes")
    memo: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = 1  # a recursive alias counts once instead of looping
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        memo[key] = total
        if total > cap:
            raise exceeded("max_yaml_nodes", total, source)
        return total

    return size(root)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列 / line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    tag = re.search(r"tag '([^']+)'", str(exc))
    if tag:
        return (f"{where}不允许的标签 {tag.group(1)}（不会执行任何代码）；只能使用普通 YAML 映射、列表、文字和数字 / "
                f"tag {tag.group(1)} is not allowed (nothing is executed); use plain mappings, lists, text, numbers")
    return where + str(problem)


def safe_load_yaml(path: str | Path, *, what: str = "YAML") -> object:
    """Load a YAML file with PyYAML's safe loader, bounded size, aliases and expansion; InputError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"找不到{what}文件 / {what} file not found: {path}")
    check("max_yaml_bytes", path.stat().st_size, f"{path.name}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path.name}: {what} 文件须为 UTF-8 编码（第 {line} 行附近）；请另存为 UTF-8 / "
            f"the {what} file must be UTF-8 (near line {line}); save it as UTF-8"
        ) from None
    return safe_load_text(text, source=path.name, what=what)


def safe_load_text(text: str, *, source: str = "YAML", what: str = "YAML") -> object:
    """Load YAML text under the same budgets as :func:`safe_load_yaml`."""
    loader = None
    try:
        loader = _BudgetLoader(text)  # the reader refuses control characters already here
        loader.source = source
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_nodes(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(
            f"{source}: 不是有效的 {what} / not a valid {what} file — {_yaml_problem(exc)}。"
            "请用文本编辑器修正后重试 / fix it in a text editor and retry"
        ) from None
    except RecursionError:
        raise InputError(f"{source}: {what} 嵌套过深 / nested too deeply; flatten the structure") from None
    finally:
        if loader is not None:
            loader.dispose()


# --- zip and XLSX -------------------------------------------------------------------------------


def check_zip(path: str | Path, *, what: str | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip container (zip, XLSX) against member count, inflated size and ratio; return its members.

    Reads only the central directory. Python's zipfile never inflates a member past the size the
    directory declares (a lying directory ends in a CRC error), so these numbers bound the real work.
    """
    path = Path(path)
    what = what or path.name
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"{what}: 不是有效的 zip/XLSX 文件（可能已损坏或被截断），请重新导出 / not a valid zip/XLSX "
            f"file (damaged or truncated?), export it again ({type(exc).__name__})"
        ) from None
    check("max_zip_members", len(members), what)
    check("max_inflated_bytes", sum(m.file_size for m in members), what)
    for m in members:
        if m.file_size > 1 << 20:
            check("max_compression_ratio", m.file_size / max(m.compress_size, 1), f"{what}/{m.filename}")
    return members


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def check_xlsx(path: str | Path) -> None:
    """Check an XLSX before openpyxl reads it: zip budgets, then each sheet's declared size and columns."""
    path = Path(path)
    members = check_zip(path)
    with zipfile.ZipFile(path) as z:
        for m in members:
            if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", m.filename):
                continue
            with z.open(m) as f:
                head = f.read(4096)
            found = _DIMENSION.search(head)
            if not found or not found.group(3):
                continue
            rows = int(found.group(4)) - int(found.group(2)) + 1
            cols = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
            sheet = f"{path.name} ({m.filename.rsplit('/', 1)[-1]})"
            check("max_columns", cols, sheet)
            check("max_xlsx_cells", rows * cols, sheet)

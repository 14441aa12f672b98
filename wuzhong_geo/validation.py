"""Pydantic validation errors as a short bilingual list that names the file and the key (no links)."""

from __future__ import annotations

from pydantic import ValidationError


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def explain(exc: ValidationError, source: str, kind_zh: str = "规则文件", kind_en: str = "rule file") -> str:
    """Return one line per error: where (``rules[0].when``), what is wrong and the offending value."""
    lines = []
    for err in exc.errors(include_url=False):
        where = _where(
            tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        )
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: 未知的键 / unknown key {err['loc'][-1]!r}")
        elif err["type"] == "missing":
            lines.append(f"{where}: 缺少必填项 / missing")
        else:
            value = err.get("input")
            shown = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg}{shown}")
    return f"{kind_zh} {source} 有误 / invalid {kind_en} {source}:\n  " + "\n  ".join(lines)

"""The plan's text for tests: located beside the checkout (CI) or in /work/shared, split by chapter/section."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

PLAN_FILE = Path("plan") / "wuzhong-14th-five-year-plan.txt"
_HEADING = re.compile(r"^(第[一二三四五六七八九十]+章|第[一二三四五六七八九十]+节)\s*\S")


def plan_path() -> Path:
    """Return the plan text: ``../shared/plan/`` beside the repository (CI), else ``/work/shared/plan/``."""
    repo = Path(__file__).resolve().parents[1]
    for base in (repo.parent / "shared", Path("/work/shared")):
        if (base / PLAN_FILE).is_file():
            return base / PLAN_FILE
    raise FileNotFoundError(
        f"plan text not found: expected {repo.parent / 'shared' / PLAN_FILE} (CI copies shared/ beside the clone)")


def squeeze(text: str) -> str:
    """Drop all whitespace: quotes are verbatim, whitespace aside."""
    return re.sub(r"\s+", "", text)


@lru_cache(maxsize=1)
def plan_text() -> str:
    """Return the full plan text."""
    return plan_path().read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def sections() -> dict[str, str]:
    """Map every chapter (第五章) and section (第五章第一节) of the body to its whitespace-free text."""
    lines = plan_text().splitlines()
    # the body starts at the second "第一章" heading (the first is the table of contents, with dot leaders)
    start = next(i for i, line in enumerate(lines) if line.startswith("第一章") and "..." not in line)
    out: dict[str, list[str]] = {}
    chapter = section = None
    for line in lines[start:]:
        m = _HEADING.match(line.strip())
        if m and m.group(1).endswith("章"):
            chapter, section = m.group(1), None
        elif m:
            section = chapter + m.group(1)
        if chapter:
            out.setdefault(chapter, []).append(line)
        if section:
            out.setdefault(section, []).append(line)
    return {ref: squeeze("\n".join(body)) for ref, body in out.items()}


def refs(plan_ref: str) -> list[str]:
    """Split a ``plan_ref`` cell (``第五章第一节`` or ``第二章第四节; 第五章第一节``) into references."""
    return [r.strip() for r in re.split(r"[;；、]", plan_ref) if r.strip()]

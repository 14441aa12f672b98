"""Normalise and match Chinese place names: full-width spaces, traditional forms, 甬直 for 甪直."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

#: Traditional forms and scanning errors seen in town names, mapped to the simplified form.
CHARACTER_FIXES = str.maketrans({
    "甬": "甪",  # the plan's scanning error: 甬直 for 甪直
    "長": "长", "橋": "桥", "橫": "横", "涇": "泾", "瀆": "渎", "鎮": "镇", "東": "东",
    "臨": "临", "園": "园", "區": "区", "開": "开", "發": "发", "假": "假", "點": "点",
    "蘇": "苏", "州": "州", "湖": "湖", "灣": "湾", "陸": "陆", "縣": "县", "鄉": "乡",
})
_SUFFIXES = ("街道办事处", "街道", "镇人民政府", "镇")
_SPACE = re.compile(r"\s+")


def normalise(name: object) -> str:
    """Return a comparison key: NFKC, no spaces, simplified characters, 甬 -> 甪, lower-case."""
    text = unicodedata.normalize("NFKC", str(name)).translate(CHARACTER_FIXES)
    return _SPACE.sub("", text).strip().lower()


def short_key(name: object) -> str:
    """Return :func:`normalise` without a trailing 街道/镇, so 甪直镇 and 甪直 share one key."""
    key = normalise(name)
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def build_lookup(entries: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Map every key form of every name to its code; raise if two codes claim one key."""
    lookup: dict[str, str] = {}
    for code, names in entries:
        for name in names:
            if name is None or str(name).strip() == "" or str(name) == "nan":
                continue
            for key in {normalise(name), short_key(name)}:
                other = lookup.setdefault(key, code)
                if other != code:
                    raise ValueError(f"name {name!r} is ambiguous: it matches {other} and {code}")
    return lookup


def match(value: object, lookup: Mapping[str, str]) -> str | None:
    """Return the code a value names (a code itself, a name or an alias), or None."""
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{9}(\d{3})?", text):
        code = text[:9]
        return code if code in lookup.values() else None
    return lookup.get(normalise(text)) or lookup.get(short_key(text))

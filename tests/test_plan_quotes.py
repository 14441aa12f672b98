"""Every plan quote in data/plan/* is verbatim (whitespace aside) and lies in the chapter/section it cites."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from plan_text import refs, sections, squeeze

PLAN_DATA = Path(__file__).resolve().parents[1] / "data" / "plan"
QUOTE_COLUMNS = ("plan_wording", "plan_quote")


def _quoted_rows():
    """Yield (file, row label, plan_ref, quote) for every quoted fact in the CSV and YAML plan tables."""
    for path in sorted(PLAN_DATA.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        for col in QUOTE_COLUMNS:
            if col not in frame.columns:
                continue
            for i, row in frame.iterrows():
                if row[col]:
                    label = row.get("id") or row.get("code") or str(i)
                    yield path.name, f"{label}.{col}", row.get("plan_ref", ""), row[col]
    for path in sorted(PLAN_DATA.glob("*.yaml")):
        yield from _yaml_quotes(path.name, yaml.safe_load(path.read_text(encoding="utf-8")), "")


def _yaml_quotes(name, node, where):
    if isinstance(node, dict):
        for col in QUOTE_COLUMNS:
            if node.get(col):
                yield name, f"{where}.{col}", node.get("plan_ref", ""), node[col]
        for key, value in node.items():
            yield from _yaml_quotes(name, value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _yaml_quotes(name, value, f"{where}[{i}]")


QUOTED = list(_quoted_rows())


def test_there_are_quotes_to_check():
    files = {f for f, *_ in QUOTED}
    assert {"infrastructure.csv", "places.csv", "zone_membership.csv", "policy_areas.csv"} <= files
    assert len(QUOTED) > 150


@pytest.mark.parametrize("name,label,plan_ref,quote", QUOTED, ids=[f"{f}:{l}" for f, l, *_ in QUOTED])
def test_quote_is_verbatim_in_the_cited_section(name, label, plan_ref, quote):
    text = sections()
    cited = refs(plan_ref)
    assert cited, f"{name} {label}: a plan quote needs a plan_ref"
    unknown = [r for r in cited if r not in text]
    assert not unknown, f"{name} {label}: plan_ref {unknown} is not a chapter/section of the plan"
    assert any(squeeze(quote) in text[r] for r in cited), \
        f"{name} {label}: {quote!r} is not verbatim in {plan_ref}"


def test_sections_parse():
    text = sections()
    assert len([r for r in text if r.endswith("节")]) == 26
    assert "太湖沿岸3公里范围内6万亩养殖池塘整治改造" in text["第一章第一节"]
    assert "适时扩大涵养区范围" in text["第五章第一节"]

"""What the hostile campaign (benchmarks/hostile_campaign.py) found, fixed at the root and kept fixed.

Click's own usage errors were English only; a YAML with control characters tracebacked; a cell over
the csv module's 128 KiB field limit (or an unclosed quote swallowing the file) tracebacked in
``check`` and in the web app's upload path.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuzhong_geo.errors import InputError
from test_hostile import SLOW_EXAMPLES, invoke, refused

USAGE_ERRORS = [
    (["check", "X.csv", "--out", "o", "--buffer-m", "abc"], "--buffer-m"),
    (["check", "X.csv", "--out", "o", "--partitions", "0", "--engine", "dask"], "--partitions"),
    (["where", "120.6", "31.26", "--radius-m", ""], "--radius-m"),
    (["coverage", "places", "--minutes", "abc"], "--minutes"),
    (["coverage", "places", "--speed", ""], "--speed"),
    (["maps", "--dpi", "0"], "--dpi"),
    (["maps", "--dpi", "1e9"], "--dpi"),
    (["indicators", "--by", "nope"], "--by"),
    (["rasterize", "--res", "abc"], "--res"),
    (["check", "--out"], "--out"),
    (["nope"], "nope"),
    (["osm", "nope"], "nope"),
    (["check", "X.csv", "--out", "o", "--no-such-option"], "--no-such-option"),
]


@pytest.mark.parametrize("args, named", USAGE_ERRORS)
def test_usage_errors_are_bilingual(tmp_path, args, named):
    refused(invoke(*[str(tmp_path / a) if a in ("X.csv", "o") else a for a in args]), named)


@given(st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=20))
@SLOW_EXAMPLES
def test_yaml_with_control_characters_is_a_message(tmp_path_factory, junk):
    path = tmp_path_factory.mktemp("yaml") / "rules.yaml"
    path.write_text(f"zones:\n  a: {junk}\n", encoding="utf-8")
    result = invoke("where", "120.6", "31.26", "--zone-rules", path)
    assert result.exit_code in (0, 2), result.output  # tab/newline junk can still be valid YAML
    if result.exit_code == 2:
        refused(result, "rules.yaml")


@pytest.mark.parametrize("body, line", [
    ("甲,120.6,31.26\n" + "长" * 200_000 + ",120.6,31.26\n", 3),  # one cell over 128 KiB
    ("甲,120.6,31.26\n\"乙,120.6,31.26\n" + "丙,120.6,31.26\n" * 20_000, 3),  # an unclosed quote
])
def test_a_record_the_csv_module_cannot_split_names_its_line(tmp_path, body, line):
    path = tmp_path / "big.csv"
    path.write_text("名称,经度,纬度\n" + body, encoding="utf-8")
    refused(invoke("check", path, "--out", tmp_path / "o", "--no-progress"), "big.csv", f"第 {line} 行",
            f"line {line}", "quote")
    assert not (tmp_path / "o").exists()
    from wuzhong_geo.app import pipeline as app_pipeline  # the web app's upload path

    with pytest.raises(InputError, match=f"line {line}"):
        app_pipeline.preview(path, {})

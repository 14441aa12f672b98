"""The check benchmark runs end to end (tiny input): the command the README gives must not rot."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

from conftest import ROOT


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_check", ROOT / "benchmarks" / "bench_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_median_keeps_the_range_and_a_failed_round():
    bench = _bench_module()
    rounds = [{"ok": True, "wall_s": w, "cpu_s": 1.0, "rss_mib": 10.0} for w in (3.0, 1.0, 2.0)]
    got = bench._median(rounds)
    assert (got["wall_s"], got["wall_s_min"], got["wall_s_max"], got["rounds"]) == (2.0, 1.0, 3.0, 3)
    failed = {"ok": False, "error": ["boom"]}
    assert bench._median([*rounds, failed]) is failed


def test_two_rounds_print_medians_ranges_and_ratios(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_check.py"), "--sizes", "2e3", "--repeat", "2",
         "--formats", "csv", "--keep", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2,000 points, 2 round(s), median [min–max]" in proc.stdout
    for name in ("geopandas", "check"):
        line = next(line for line in proc.stdout.splitlines() if line.strip().startswith(name))
        assert re.search(r"\d+\.\d\d \[\d+\.\d\d–\d+\.\d\d\]", line), line
    assert "goal" not in proc.stdout  # goals are stated for 10^5 and 10^6 only
    (row,) = json.loads((tmp_path / "results.json").read_text())
    assert row["n"] == 2000 and len(row["rounds"]) == 2 and row["check"]["rounds"] == 2
    assert (tmp_path / "check_2000" / "results.csv").exists()

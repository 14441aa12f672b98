"""Check worker processes and read-ahead: the same files as one process, rows in order, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from wuzhong_geo import checkpool, pipeline
from wuzhong_geo.checkpool import CheckPool, fork_is_safe, lead_in, plan_chunk_size
from wuzhong_geo.cli import app
from wuzhong_geo.errors import InputError
from wuzhong_geo.prefetch import prefetched

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "tests" / "data" / "sites"
SAMPLE = ROOT / "data" / "samples" / "projects.csv"


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a new process, as a user runs it (a fresh process has no other threads)."""
    return subprocess.run([sys.executable, "-m", "wuzhong_geo.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _summary(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    for key in ("generated_at", "timing_s"):
        summary.pop(key)
    return summary


@pytest.mark.parametrize(
    ("source", "chunk"),
    [(SAMPLE, "7"), (SITES / "sites.geojson", "2"), (SITES / "broken_selfintersect.geojson", "1")],
)
def test_worker_processes_write_the_same_files_as_one_process(tmp_path, source, chunk):
    runs = {}
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}"
        done = _cli("check", str(source), "--out", str(out), "--chunk-size", chunk, "--workers", workers,
                    "--formats", "csv,parquet,gpkg", "--no-progress")
        assert done.returncode == 0, done.stderr
        runs[workers] = out
    one, many = runs["0"], runs["2"]
    summary_one, summary_many = _summary(one), _summary(many)
    assert summary_one["options"].pop("check_processes") == 0
    assert summary_many["options"].pop("check_processes") == min(2, os.cpu_count())  # the workers did run
    assert summary_one == summary_many
    assert (one / "results.csv").read_bytes() == (many / "results.csv").read_bytes()
    for name in ("results.parquet", "zone_parts.parquet"):
        if (one / name).exists() or (many / name).exists():
            assert pq.read_table(one / name).equals(pq.read_table(many / name))


def test_a_worker_that_dies_is_a_clear_error_and_leaves_no_folder(tmp_path):
    out = tmp_path / "out"
    script = (
        "import os, sys\n"
        "from wuzhong_geo import checkpool, pipeline\n"
        "checkpool.check_chunk = lambda *a: os._exit(3)  # inherited by the forked worker\n"
        "try:\n"
        f"    pipeline.run({str(SAMPLE)!r}, {str(out)!r}, workers=1, chunk_size=7, progress=False)\n"
        "except ChildProcessError as exc:\n"
        "    print(exc); sys.exit(5)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 5, done.stderr
    assert "--workers 0" in done.stdout and "子进程" in done.stdout
    assert not out.exists()


def test_no_more_workers_than_cores():
    with CheckPool(None, None, 10_000) as pool:
        assert 0 <= pool.workers <= (os.cpu_count() or 1)


def test_no_fork_while_another_thread_runs():
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not fork_is_safe()
        assert CheckPool(None, None, 2).workers == 0  # checks in this process instead
    finally:
        release.set()
        other.join()


def test_chunk_size_follows_the_input_size():
    assert plan_chunk_size(49_999, None, 100_000) == 100_000  # small: one chunk
    assert plan_chunk_size(100_000, None, 100_000) == 25_000  # cut in four: writers overlap the check
    assert plan_chunk_size(100_001, None, 100_000) == 25_001  # no row left over for a fifth chunk
    assert plan_chunk_size(300_000, None, 100_000) == 100_000
    assert plan_chunk_size(300_000, 7, 100_000) == 7  # asked for: as asked


@pytest.mark.parametrize("args", [["--workers", "-1"], ["--workers", "2", "--engine", "dask"], ["--chunk-size", "0"]])
def test_cli_refuses_bad_worker_options(tmp_path, args):
    result = CliRunner().invoke(app, ["check", str(SAMPLE), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_prefetched_keeps_order_and_raises_at_the_failing_item():
    def items():
        yield 1
        yield 2
        raise InputError("第 3 块 / chunk 3")

    seen = []
    with pytest.raises(InputError, match="chunk 3"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_prefetched_stops_and_closes_its_source_when_left_early():
    closed = threading.Event()

    def items():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    for item in prefetched(items(), depth=2):
        if item == 3:
            break
    assert closed.wait(5)


def test_a_failed_run_stops_its_read_ahead(tmp_path, monkeypatch):
    from wuzhong_geo import outputs

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs.ResultWriter, "add", boom)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="disk full") as failure:
        pipeline.run(SAMPLE, tmp_path / "out", chunk_size=3, progress=False)
    # the traceback (kept here, as a server keeps it to report) must not keep the reader running
    assert failure.tb is not None
    assert "read-ahead" not in {t.name for t in threading.enumerate()} - before
    assert not (tmp_path / "out").exists()


def test_the_first_chunk_is_cut_short_and_order_is_kept():
    frames = [pd.DataFrame({"row_id": np.arange(a, b)}) for a, b in ((1, 101), (101, 151), (151, 161))]
    out = list(lead_in(iter(frames), first=30))
    assert [len(f) for f in out] == [30, 70, 50, 10]
    assert np.concatenate([f["row_id"].to_numpy() for f in out]).tolist() == list(range(1, 161))
    assert [len(f) for f in lead_in(iter(frames[1:]), first=30)] == [50, 10]  # not over twice: as is
    assert list(lead_in(iter([]), first=30)) == []


def test_a_short_first_chunk_writes_the_same_files(tmp_path, monkeypatch):
    """50,000 points in one chunk, with and without the short first chunk: the same bytes."""
    rng = np.random.default_rng(3)
    n = 50_000
    source = tmp_path / "pts.csv"
    pd.DataFrame({"name": [f"p{i}" for i in range(n)], "lon": rng.uniform(120.2, 120.95, n).round(6),
                  "lat": rng.uniform(30.95, 31.4, n).round(6)}).to_csv(source, index=False)
    runs = {}
    for rows in (20_000, 10**9):
        monkeypatch.setattr(checkpool, "LEAD_IN_ROWS", rows)
        out = tmp_path / f"lead{rows}"
        pipeline.run(source, out, chunk_size=n, formats="csv,parquet", progress=False)
        runs[rows] = out
    short, whole = runs[20_000], runs[10**9]
    assert (short / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    assert pq.read_table(short / "results.parquet").equals(pq.read_table(whole / "results.parquet"))

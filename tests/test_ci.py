"""The CI guard: with CI=true a test skipped for a missing system package fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
INNER = """
import pytest

@pytest.mark.skipif(True, reason="needs apt-get install gdal-bin (CI installs it)")
def test_needs_a_debian_package():
    pass

def test_other_skip():
    pytest.skip("plan text not available")

def test_runs():
    pass
"""


@pytest.mark.parametrize("ci, failed, skipped", [("true", 1, 1), ("", 0, 2)])
def test_missing_system_package_fails_only_in_ci(pytester, monkeypatch, ci, failed, skipped):
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8").replace('pytest_plugins = ["pytester"]', ""))
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    # skipif acts at setup, so the guard turns that phase into an error: the run fails either way
    result.assert_outcomes(passed=1, errors=failed, skipped=skipped)
    assert result.ret == (1 if failed else 0)
    if failed:
        result.stdout.fnmatch_lines(["*CI=true, but a system package is missing*gdal-bin*"])

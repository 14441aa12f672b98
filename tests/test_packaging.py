"""Packaging: environment.yml matches pyproject.toml, and a built wheel carries the bundled data."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(d) for d in dep["pip"] if not d.startswith("-")}
        elif not dep.startswith(("python", "pip")):
            conda.add(_name(dep))
    wanted = {_name(d) for d in project["dependencies"]}
    assert conda | pip == wanted, (
        f"only in pyproject: {sorted(wanted - conda - pip)}; only in environment.yml: {sorted((conda | pip) - wanted)}"
    )


@pytest.mark.slow
def test_wheel_contains_bundled_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("wuzhong_geo-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "wuzhong_geo/_data/base/wuzhong_base.gpkg",
        "wuzhong_geo/_data/plan/towns.csv",
        "wuzhong_geo/_data/plan/zone_split_rules.yaml",
        "wuzhong_geo/layers.py",
    ):
        assert required in names, f"{required} missing from the wheel"

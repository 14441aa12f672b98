"""Command line interface ``wuzhong-geo``: a thin shell over the Python API."""

from __future__ import annotations

from wuzhong_geo.cli import layers as _layers  # noqa: F401  (registers the command)
from wuzhong_geo.cli.app import app


def main() -> None:
    """Run the ``wuzhong-geo`` command."""
    app()

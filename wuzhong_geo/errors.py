"""User-facing error types: the CLI turns these into a message and exit code 2."""

from __future__ import annotations


class WuzhongGeoError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(WuzhongGeoError, ValueError):
    """Bad input (file, column, CRS, value); the message names it and says what to do."""

"""Upload limits of the web app: bytes per file and per session; archives as the CLI checks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wuzhong_geo import limits
from wuzhong_geo.errors import InputError

_MB = 1 << 20


def _mb(n: int) -> str:
    return f"{n / _MB:,.0f} MB" if n >= _MB else f"{n:,} B"


@dataclass(frozen=True)
class Limits:
    """How much one upload, one session and one archive may hold."""

    # Defaults (and --limit / WUZHONG_GEO_* overrides) live in wuzhong_geo.limits, documented in docs/limits.md.
    max_upload_bytes: int = field(default_factory=lambda: int(limits.get("max_upload_bytes")))
    max_session_bytes: int = field(default_factory=lambda: int(limits.get("max_session_bytes")))
    # Archives: the CLI's own check (limits.check_zip), with max_inflated_bytes and the ratio.

    def too_big(self, name: str, size: int, partial: bool = False) -> str:
        """The message for a file over the per-file limit."""
        more = "超过" if partial else ""
        return (f"{name}: 文件{more}大小 {_mb(size)} 超过上限 {_mb(self.max_upload_bytes)} / the file is larger "
                f"than the limit of {_mb(self.max_upload_bytes)}; split it or run `wuzhong-geo check` "
                "on the command line")

    def session_full(self) -> str:
        """The message when a session holds too many bytes."""
        return (f"本次会话上传总量超过 {_mb(self.max_session_bytes)}，请点击“结束会话”后重试 / this session "
                f"holds more than {_mb(self.max_session_bytes)} of uploads; end the session and retry")

    @staticmethod
    def check_archive(path: Path) -> None:
        """Refuse a zip (or XLSX) over the CLI's member, inflated-size and ratio limits."""
        limits.check_zip(path)

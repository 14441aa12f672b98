"""The web app's server side: loopback only by default, request guards, upload limits, private folders."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wuzhong_geo.app import pipeline
from wuzhong_geo.app.limits import Limits
from wuzhong_geo.app.serve import LOOPBACK_NAMES, bind, is_loopback
from wuzhong_geo.app.server import App
from wuzhong_geo.app.sessions import INPUT_SUFFIXES, safe_name
from wuzhong_geo.cli import app as cli_app
from wuzhong_geo.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "projects.csv"


class Live:
    """The app on a free loopback port in this process (uvicorn in a thread), with given limits."""

    def __init__(self, limits: Limits) -> None:
        import uvicorn

        self.app = App(limits=limits, allowed_hosts=LOOPBACK_NAMES)
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app.starlette, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.02)
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """Return (status, JSON or bytes) of one request, keeping the session cookie."""
        req = urllib.request.Request(self.url + path, data=body, method=method)
        for key, value in {"X-Wuzhong-Geo": "1", "Cookie": self.cookie, **(headers or {})}.items():
            if value:
                req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                status, data, head = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as exc:
            status, data, head = exc.code, exc.read(), exc.headers
        cookie = head.get("set-cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def upload(self, name: str, data: bytes):
        _, made = self.request("POST", "/api/uploads", b"")
        status, body = self.request("PUT", f"/api/uploads/{made['upload']}/files?name={name}", data)
        return made["upload"], status, body

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.app.sessions.close()


@pytest.fixture()
def live():
    from wuzhong_geo import limits

    limits.set_limit(f"max_inflated_bytes={1 << 20}")  # archives: the CLI's limit, as --limit sets it
    server = Live(Limits(max_upload_bytes=64 * 1024, max_session_bytes=256 * 1024))
    yield server
    server.close()
    limits.reset()


# ------------------------------------------------------------------ binding


def test_refuses_to_listen_beyond_localhost_without_the_flag():
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(InputError, match="--allow-remote"):
            bind(host, 0)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "--allow-remote" in result.output
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    sock = bind("0.0.0.0", 0, allow_remote=True)  # asked for twice: allowed
    sock.close()


def test_a_busy_port_is_a_clean_error():
    sock = bind("127.0.0.1", 0)
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--port", str(sock.getsockname()[1])])
        assert result.exit_code == 2 and "--port" in result.output
    finally:
        sock.close()


# ------------------------------------------------------------------ request guards


def test_foreign_host_header_and_requests_without_the_app_header_are_refused(live):
    status, _ = live.request("GET", "/api/session", headers={"Host": "attacker.example"})
    assert status == 400  # DNS rebinding: the Host must be this machine
    status, body = live.request("POST", "/api/uploads", b"", headers={"X-Wuzhong-Geo": ""})
    assert status == 403
    status, page = live.request("GET", "/")
    assert status == 200 and b"/vendor/leaflet.js" in page and b"http" not in page.split(b"<body>")[0]


def test_file_names_from_the_browser_never_become_paths():
    assert safe_name("../../etc/passwd.csv", INPUT_SUFFIXES) == "passwd.csv"
    assert safe_name("C:\\Users\\x\\项目 清单.XLSX", INPUT_SUFFIXES) == "项目_清单.xlsx"
    assert safe_name(".csv", INPUT_SUFFIXES) == "upload.csv"
    for bad in ("run.sh", "noext", "report.html"):
        with pytest.raises(InputError, match="不支持的文件类型"):
            safe_name(bad, INPUT_SUFFIXES)


# ------------------------------------------------------------------ limits and folders


def test_upload_limits_are_enforced(live):
    _, status, body = live.upload("big.csv", b"x" * (64 * 1024 + 1))
    assert status == 400 and "超过上限" in body["error"]
    # A zip that inflates beyond the limit is refused (and removed) before anything reads it.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", b"0" * (4 << 20))
    assert len(bomb.getvalue()) < 64 * 1024
    upload, status, body = live.upload("bomb.zip", bomb.getvalue())
    assert status == 400 and "解压后" in body["error"]
    session = next(iter(live.app.sessions._sessions.values()))
    assert not any(session.uploads[upload].iterdir())
    # The session's total is capped too.
    for i in range(4):
        assert live.upload(f"part{i}.csv", b"y" * (60 * 1024))[1] == 200
    _, status, body = live.upload("more.csv", b"z" * (60 * 1024))
    assert status == 400 and "会话" in body["error"]


def test_session_folders_are_private_and_removed(live):
    upload, status, _ = live.upload("projects.csv", SAMPLE.read_bytes())
    assert status == 200
    session = next(iter(live.app.sessions._sessions.values()))
    for path in (live.app.sessions.root, session.root, session.uploads[upload]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    status, _ = live.request("DELETE", "/api/session")
    assert status == 200 and not session.root.exists()
    root = live.app.sessions.root
    live.app.sessions.close()
    assert not root.exists()


def test_check_round_trip_matches_the_cli(live, tmp_path):
    limits = Limits()
    big = Live(limits)
    try:
        upload, status, _ = big.upload("projects.csv", SAMPLE.read_bytes())
        status, info = big.request("POST", f"/api/uploads/{upload}/inspect", b"{}")
        assert status == 200 and info["needs"] == [] and info["rows"] == 42
        status, job = big.request("POST", f"/api/uploads/{upload}/check", b"{}")
        while job["state"] == "running":
            time.sleep(0.2)
            _, job = big.request("GET", f"/api/jobs/{job['id']}")
        assert job["state"] == "done", job
        cli_out = tmp_path / "cli"
        result = CliRunner().invoke(cli_app, ["check", str(SAMPLE), "--out", str(cli_out), "--no-progress"])
        assert result.exit_code == 0
        cli_summary = json.loads((cli_out / "summary.json").read_text(encoding="utf-8"))
        assert job["summary"]["counts"] == cli_summary["counts"]
        status, csv_bytes = big.request("GET", f"/api/jobs/{job['id']}/files/results.csv")
        assert status == 200 and csv_bytes == (cli_out / "results.csv").read_bytes()
        status, _ = big.request("GET", f"/api/jobs/{job['id']}/files/..%2F..%2Fetc%2Fpasswd")
        assert status == 404
    finally:
        big.close()


def test_ask_a_place_is_the_answer_of_wuzhong_geo_where():
    answer = pipeline.where(120.6837, 31.25305, None, None)
    shown = [answer["headline"], *answer["lines"]]
    cli = CliRunner().invoke(cli_app, ["where", "120.6837", "31.25305"])
    assert cli.exit_code == 0
    assert sorted(shown) == sorted(cli.output.strip().splitlines())
    assert any("郭巷街道" in line for line in shown) and any("先进制造轴" in line for line in shown)
    assert {"plan_ref": "第二章第四节", "plan_quote": "串联甪直、郭巷全域"} in answer["citations"]
    amap = pipeline.where(120.6837, 31.25305, "gcj02", None)
    assert amap["point"] != answer["point"]  # GCJ-02 input is shifted back to WGS84
    named = pipeline.where(None, None, None, None, name="甬直古镇")  # the plan's spelling works too
    assert "甪直古镇" in named["lines"][0]


def test_progress_is_reported_after_every_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 5)
    rows = ["项目名称,经度,纬度"] + [f"项目{i},120.{60 + i},31.25" for i in range(12)]
    path = tmp_path / "twelve.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    seen: list[tuple[int, int]] = []
    summary = pipeline.check(path, tmp_path / "out", {"crs": "wgs84"}, None, lambda d, t: seen.append((d, t)))
    assert summary["rows"] == 12
    assert seen == [(0, 12), (5, 12), (10, 12), (12, 12)]


def test_uploads_are_removed_when_the_server_stops(tmp_path):
    import os

    from conftest import start_server

    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the server's private root lands here
    proc, url, _ = start_server(env=env)
    try:
        client = Live.__new__(Live)  # only its request helper, against the subprocess
        client.url, client.cookie = url.rstrip("/"), ""
        _, made = client.request("POST", "/api/uploads", b"")
        status, _ = client.request("PUT", f"/api/uploads/{made['upload']}/files?name=projects.csv",
                                   SAMPLE.read_bytes())
        assert status == 200
        stored = list(tmp_path.glob("wuzhong-geo-app-*/*/upload-*/projects.csv"))
        assert len(stored) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not list(tmp_path.glob("wuzhong-geo-app-*"))

"""Run the web app with uvicorn: loopback only unless remote access is asked for twice."""

from __future__ import annotations

import atexit
import ipaddress
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from wuzhong_geo.app.limits import Limits
from wuzhong_geo.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Host header values the server answers when bound to loopback (anything else: DNS rebinding).
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int, allow_remote: bool = False) -> socket.socket:
    """Open the listening socket; InputError for a non-loopback host without ``allow_remote``."""
    if not is_loopback(host) and not allow_remote:
        raise InputError(
            f"拒绝在 {host} 上监听：上传的文件和结果将对网络中的其他计算机可见。确需如此请同时加 --allow-remote / "
            f"refusing to listen on {host}: other machines could reach uploads and results. "
            "Add --allow-remote if you really mean it (default: 127.0.0.1 only)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"无法监听 {host}:{port}（{exc.strerror}）；端口可能已被占用，请换 --port / "
            f"cannot listen on {host}:{port} ({exc.strerror}); the port may be in use: try another --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, open_browser: bool = False,
          allow_remote: bool = False, limits: Limits | None = None, boundaries: Path | None = None,
          echo: Callable[[str], None] = print) -> None:
    """Serve the app until interrupted (``boundaries``: every session's first towns); uploads go on exit."""
    import uvicorn

    from wuzhong_geo.app.server import App

    sock = bind(host, port, allow_remote)
    actual_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{actual_port}/"
    if not is_loopback(host):
        echo(f"警告 / WARNING: 正在 {host} 上监听，网络中的其他计算机可访问本服务及上传的文件 / listening on {host}: "
             "other machines on the network can reach this app and the files uploaded to it.")
    app = App(limits=limits, boundaries=boundaries, allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None)
    atexit.register(app.sessions.close)
    config = uvicorn.Config(app.starlette, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    echo(f"wuzhong-geo 网页应用 / web app: {url}  （Ctrl+C 结束 / to stop）")
    sys.stdout.flush()
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        app.sessions.close()
        sock.close()

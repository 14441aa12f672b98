"""``wuzhong-geo serve``: the local web app (drop a file, see the check, ask a place)."""

from __future__ import annotations

from typing import Annotated

import typer

from wuzhong_geo.cli.app import BoundariesOption, app, apply_options, fail
from wuzhong_geo.errors import InputError


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option("--port", help="端口（0：任选空闲端口）。 Port (0: any free port).")] = 8765,
    open_browser: Annotated[bool, typer.Option(
        "--open", help="启动后在浏览器中打开。 Open the page in the default browser.")] = False,
    host: Annotated[str, typer.Option(
        "--host", help="监听地址（默认仅本机 127.0.0.1）；其他地址还须加 --allow-remote。"
                       " Address to listen on (default: this machine only); others need --allow-remote.")
    ] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="允许在非本机地址上监听（网络中的其他计算机可访问）。"
                               " Allow a non-loopback --host (other machines can reach the app).")] = False,
    boundaries: BoundariesOption = None,
) -> None:
    """启动本地网页应用：拖入文件核查选址、点地图查规划、下载结果，全程离线。 Start the local, offline web app."""
    if boundaries is not None:  # checked now, so a bad file stops here; otherwise start fast
        apply_options(boundaries)
    from wuzhong_geo.app.serve import serve

    try:
        serve(host, port, open_browser=open_browser, allow_remote=allow_remote, boundaries=boundaries,
              echo=typer.echo)
    except InputError as exc:
        fail(str(exc))

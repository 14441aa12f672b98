"""The web app's HTTP side (Starlette): the page, its static files and a small JSON API.

Every answer comes from :mod:`wuzhong_geo.app.pipeline` (the CLI's own functions). Requests that
change anything must carry ``X-Wuzhong-Geo: 1`` (a page elsewhere cannot send it without a CORS
preflight this server never grants), and the Host header must name this machine when bound to it
(no DNS rebinding). Bad input answers 400 with the CLI's bilingual message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from wuzhong_geo.app import pipeline
from wuzhong_geo.app.limits import Limits
from wuzhong_geo.app.sessions import BOUNDARY_SUFFIXES, INPUT_SUFFIXES, Job, Session, Sessions, safe_name
from wuzhong_geo.errors import InputError

log = logging.getLogger(__name__)

COOKIE = "wzgeo_session"
HEADER = "x-wuzhong-geo"
#: Rows per page of the results table.
PAGE_ROWS = 200
#: Results drawn on the map at most (the table always has every row).
MAP_FEATURES = 20_000
#: Options the page may pass to the check, as the CLI's option names.
CHECK_OPTIONS = ("crs", "lon_col", "lat_col", "name_col", "category_col", "town_col", "encoding",
                 "sheet", "layer", "buffer_m")
_STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_SECURITY_HEADERS = {
    # Nothing but this server: no CDN, no fonts, no frames, no inline script with data in it.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _static_text(name: str) -> str:
    return resources.files("wuzhong_geo.app").joinpath("static", name).read_text(encoding="utf-8")


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, default=str, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


class App:
    """The server state: sessions and the Starlette application built on them."""

    def __init__(self, limits: Limits | None = None, allowed_hosts: list[str] | None = None,
                 boundaries: Path | None = None) -> None:
        self.limits = limits or Limits()
        self.sessions = Sessions(self.limits, boundaries)
        middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["*"])]
        self.starlette = Starlette(routes=self._routes(), middleware=middleware, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, app):
        # Warm the pipeline in the background: the page is served at once, the first check is quick.
        threading.Thread(target=_warm_up, daemon=True, name="wuzhong-geo-warm-up").start()
        try:
            yield
        finally:
            self.sessions.close()

    def _routes(self) -> list[Route]:
        api = [
            ("/api/session", self.session_info, ["GET"]),
            ("/api/session", self.end_session, ["DELETE"]),
            ("/api/uploads", self.new_upload, ["POST"]),
            ("/api/uploads/{upload}/files", self.upload_file, ["PUT"]),
            ("/api/uploads/{upload}/inspect", self.inspect, ["POST"]),
            ("/api/uploads/{upload}/check", self.start_check, ["POST"]),
            ("/api/jobs/{job}", self.job_state, ["GET"]),
            ("/api/jobs/{job}/rows", self.job_rows, ["GET"]),
            ("/api/jobs/{job}/rows/{row_id:int}", self.job_row, ["GET"]),
            ("/api/jobs/{job}/geojson", self.job_geojson, ["GET"]),
            ("/api/jobs/{job}/files/{name}", self.job_file, ["GET"]),
            ("/api/where", self.where, ["POST"]),
            ("/api/boundaries", self.put_boundaries, ["PUT"]),
            ("/api/boundaries", self.drop_boundaries, ["DELETE"]),
            ("/api/layers", self.plan_layers, ["GET"]),
        ]
        routes = [Route(path, self._wrap(handler), methods=methods) for path, handler, methods in api]
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/static/{name}", self.static, methods=["GET"]),
            Route("/vendor/leaflet.{ext}", self.leaflet, methods=["GET"]),
            *routes,
        ]

    # ------------------------------------------------------------------ plumbing

    def _wrap(self, handler):
        async def endpoint(request: Request) -> Response:
            if request.method != "GET" and request.headers.get(HEADER) != "1":
                return _error("缺少请求头 / missing the app's request header", 403)
            session = self.sessions.get(request.cookies.get(COOKIE))
            fresh = session is None
            if fresh:
                session = self.sessions.create()
            try:
                response = await handler(request, session)
            except InputError as exc:
                response = _error(str(exc))
            except Exception as exc:  # the page shows it; the console keeps the traceback
                log.exception("request failed: %s", request.url.path)
                response = _error(f"内部错误 / internal error: {type(exc).__name__}: {exc}", 500)
            if fresh:
                response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")
            _secure(response)
            return response

        return endpoint

    async def index(self, request: Request) -> Response:
        """The page."""
        return _secure(Response(_static_text("index.html"), media_type="text/html; charset=utf-8"))

    async def static(self, request: Request) -> Response:
        """The page's script and stylesheet (fixed names only)."""
        name = request.path_params["name"]
        if name not in _STATIC:
            return Response("not found", status_code=404)
        text = _static_text(name)
        if name == "app.css":
            text = _css_variables() + text
        return _secure(Response(text, media_type=_STATIC[name]))

    async def leaflet(self, request: Request) -> Response:
        """Leaflet from the same offline copy the web map inlines."""
        ext = request.path_params["ext"]
        if ext not in ("js", "css"):
            return Response("not found", status_code=404)
        js, css = _leaflet()
        text, media = (js, "text/javascript") if ext == "js" else (css, "text/css")
        return _secure(Response(text, media_type=f"{media}; charset=utf-8"))

    # ------------------------------------------------------------------ session

    async def session_info(self, request: Request, session: Session) -> Response:
        """Which boundaries answers use, the limits, the session's checks."""
        return _json({"boundaries": session.boundaries_info(),
                      "limits": {"max_upload_bytes": self.limits.max_upload_bytes,
                                 "max_session_bytes": self.limits.max_session_bytes},
                      "outputs": list(pipeline.output_files()),
                      "jobs": [j.as_dict() for j in session.jobs.values()]})

    async def end_session(self, request: Request, session: Session) -> Response:
        """End the session now: its folder and every upload and result in it are removed."""
        self.sessions.end(session.id)
        response = _json({"ended": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ uploads and checks

    async def new_upload(self, request: Request, session: Session) -> Response:
        """Make an empty upload (a file, or a Shapefile's parts dropped together)."""
        key, folder = session.new_dir("upload")
        session.uploads[key] = folder
        return _json({"upload": key})

    async def upload_file(self, request: Request, session: Session) -> Response:
        """Receive one file's bytes as the request body; the name is only used for its type."""
        folder = session.uploads.get(request.path_params["upload"])
        if folder is None:
            raise InputError("上传已过期，请重新拖入文件 / the upload has expired; drop the file again")
        name = safe_name(request.query_params.get("name", ""), INPUT_SUFFIXES)
        if (folder / name).exists():
            raise InputError(f"{name}: 同名文件已上传 / a file of that name is already in this upload")
        declared = request.headers.get("content-length")
        path = await session.receive(request.stream(), folder, name,
                                     int(declared) if declared and declared.isdigit() else None)
        return _json({"name": path.name, "bytes": path.stat().st_size})

    async def inspect(self, request: Request, session: Session) -> Response:
        """Open the upload as the check would: detected columns and CRS, first rows, what to ask."""
        path = session.input_file(request.path_params["upload"])
        options = await _options(request)
        result = await asyncio.to_thread(_locked_preview, path, options)
        result["source"] = path.name
        return _json(result)

    async def start_check(self, request: Request, session: Session) -> Response:
        """Start ``check`` on the upload in the background; poll ``/api/jobs/{id}`` for progress."""
        path = session.input_file(request.path_params["upload"])
        options = await _options(request)
        key, out_parent = session.new_dir("job")
        job = Job(id=key, source=path.name, out_dir=out_parent / "out",
                  boundaries=session.boundaries_info())
        session.jobs[key] = job
        boundaries = session.boundaries

        def work() -> None:
            def progress(done: int, total: int) -> None:
                job.done, job.total = done, max(total, done)

            try:
                job.summary = pipeline.check(path, job.out_dir, options, boundaries, progress)
                job.state = "done"
            except InputError as exc:
                job.error, job.state = str(exc), "error"
            except Exception as exc:
                log.exception("check failed")
                job.error, job.state = f"内部错误 / internal error: {type(exc).__name__}: {exc}", "error"
            finally:
                job.finished = time.time()

        threading.Thread(target=work, daemon=True, name=f"check-{key}").start()
        return _json(job.as_dict())

    def _job(self, request: Request, session: Session) -> Job:
        job = session.jobs.get(request.path_params["job"])
        if job is None:
            raise InputError("找不到这次核查（会话已结束？）/ no such check in this session")
        return job

    def _done(self, request: Request, session: Session) -> Job:
        job = self._job(request, session)
        if job.state != "done":
            raise InputError("核查尚未完成 / the check has not finished")
        return job

    async def job_state(self, request: Request, session: Session) -> Response:
        """Progress, then the summary (or the CLI's error message)."""
        return _json(self._job(request, session).as_dict())

    async def job_rows(self, request: Request, session: Session) -> Response:
        """One page of result rows, filtered by status / flag level and a search text."""
        job = self._done(request, session)
        query = request.query_params
        frame, haystack = await asyncio.to_thread(job.results)
        mask = _filter_mask(frame, haystack, query.get("status", ""), query.get("level", ""),
                            query.get("q", ""))
        selected = frame[mask] if mask is not None else frame
        offset = max(int(query.get("offset", "0") or 0), 0)
        page = selected.iloc[offset: offset + PAGE_ROWS]
        name_col = (job.summary or {}).get("input", {}).get("name_col")
        columns = ["row_id", "status", "site", "name", "functional_zone", "flag_level", "message"]
        rows = []
        for record in page.to_dict("records"):
            record["site"] = record.get(name_col) if name_col else None
            rows.append([pipeline.json_value(record.get(c)) for c in columns])
        return _json({"columns": columns, "rows": rows, "total": int(len(selected)),
                      "all": int(len(frame)), "offset": offset, "page": PAGE_ROWS})

    async def job_row(self, request: Request, session: Session) -> Response:
        """Every field of one result row, labelled as in the XLSX."""
        job = self._done(request, session)
        frame, _ = await asyncio.to_thread(job.results)
        row_id = request.path_params["row_id"]
        hits = frame[frame["row_id"] == row_id]
        if hits.empty:
            raise InputError(f"没有第 {row_id} 行 / no row {row_id}")
        record = hits.iloc[0].drop(labels="geometry")
        fields = _labelled({k: pipeline.json_value(v) for k, v in record.items()})
        return _json({"row_id": row_id, "fields": fields, "boundaries": job.boundaries})

    async def job_geojson(self, request: Request, session: Session) -> Response:
        """The results as GeoJSON for the map (row id and status; at most MAP_FEATURES)."""
        job = self._done(request, session)
        frame, _ = await asyncio.to_thread(job.results)
        text = await asyncio.to_thread(_results_geojson, frame)
        return Response(text, media_type="application/geo+json")

    async def job_file(self, request: Request, session: Session) -> Response:
        """Download one of the files ``check`` wrote (by its fixed name only)."""
        job = self._done(request, session)
        name = request.path_params["name"]
        if name not in pipeline.output_files():
            return _error("没有这个文件 / no such output", 404)
        stem = Path(job.source).stem
        return FileResponse(job.out_dir / name, filename=f"{stem}_{name}")

    # ------------------------------------------------------------------ where, boundaries, layers

    async def where(self, request: Request, session: Session) -> Response:
        """What the plan says at one place (the same answer as ``wuzhong-geo where``)."""
        body = await _body(request)
        lon_text, lat_text = str(body.get("lon") or "").strip(), str(body.get("lat") or "").strip()
        name = None
        try:
            lon, lat = float(lon_text), float(lat_text)
        except ValueError:
            if not lon_text or lat_text:
                raise InputError("请填写数字形式的经度和纬度，或在第一格填一个地名 / give longitude and latitude "
                                 "as numbers, or a place name in the first box") from None
            lon = lat = None
            name = lon_text[:100]
        crs = body.get("crs") or None
        answer = await asyncio.to_thread(pipeline.where, lon, lat, crs, session.boundaries, name)
        values = answer.pop("values", {})
        return _json({**answer, "fields": _labelled(values), "lon": lon, "lat": lat, "crs": crs,
                      "name": name, "boundaries": session.boundaries_info()})

    async def put_boundaries(self, request: Request, session: Session) -> Response:
        """Use an official towns file for the rest of the session (validated like ``--boundaries``)."""
        name = safe_name(request.query_params.get("name", ""), BOUNDARY_SUFFIXES)
        _, folder = session.new_dir("boundaries")
        declared = request.headers.get("content-length")
        path = await session.receive(request.stream(), folder, name,
                                     int(declared) if declared and declared.isdigit() else None)
        await asyncio.to_thread(pipeline.use_boundaries, path)  # raises InputError if refused
        session.boundaries, session.boundaries_name = path, name
        return _json({"boundaries": session.boundaries_info()})

    async def drop_boundaries(self, request: Request, session: Session) -> Response:
        """Back to the schematic towns."""
        session.boundaries = session.boundaries_name = None
        return _json({"boundaries": session.boundaries_info()})

    async def plan_layers(self, request: Request, session: Session) -> Response:
        """The plan layers under the results (towns from this session's boundaries)."""
        text = await asyncio.to_thread(_plan_layers_json, session.boundaries)
        return Response(text, media_type="application/json")


def _labelled(values: dict) -> list[dict]:
    """Fields in order with the XLSX's Chinese header and English description."""
    fields = []
    for column, value in values.items():
        zh, en = pipeline.column_label(column)
        fields.append({"column": column, "label": zh, "description": en, "value": value})
    return fields


def _css_variables() -> str:
    from wuzhong_geo import style

    pairs = [(f"--{k}", v) for k, v in style.WEB_UI.items()]
    pairs += [(f"--status-{k}", v) for k, v in style.SITE_STATUS_COLOURS.items()]
    return ":root{" + ";".join(f"{k}:{v}" for k, v in pairs) + "}\n"


def _secure(response: Response) -> Response:
    for key, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > 1 << 16:
        raise InputError("请求过大 / request too large")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InputError("请求格式错误 / malformed request") from None
    if not isinstance(body, dict):
        raise InputError("请求格式错误 / malformed request")
    return body


async def _options(request: Request) -> dict:
    body = await _body(request)
    options = {}
    for key in CHECK_OPTIONS:
        value = body.get(key)
        if value in (None, ""):
            continue
        if key == "buffer_m":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"--buffer-m 须为数字 / must be a number, not {value!r}") from None
        else:
            value = str(value)
        options[key] = value
    return options


def _locked_preview(path: Path, options: dict) -> dict:
    with pipeline.LOCK:
        return pipeline.preview(path, options)


def _filter_mask(frame, haystack, status: str, level: str, q: str):
    mask = None

    def both(a, b):
        return b if a is None else a & b

    if status:
        mask = both(mask, frame["status"].astype("string").isin(status.split(",")).fillna(False))
    if level:
        levels = frame["flag_level"].astype("string").fillna("")
        mask = both(mask, levels.isin(["" if v == "none" else v for v in level.split(",")]))
    if q.strip() and haystack is not None:
        mask = both(mask, haystack.str.contains(q.strip().lower(), regex=False).fillna(False))
    return None if mask is None else mask.to_numpy(dtype=bool)


def _results_geojson(frame) -> str:
    from wuzhong_geo.web.features import web_geometry

    shown = frame[["row_id", "status", "geometry"]].iloc[:MAP_FEATURES]
    light = web_geometry(shown.set_crs("EPSG:4326", allow_override=True) if shown.crs is None else shown)
    return light.to_json(drop_id=True, to_wgs84=False)


@lru_cache(maxsize=8)
def _plan_layers_cached(boundaries: str | None, stamp: float) -> str:
    with pipeline.LOCK:
        pipeline.use_boundaries(Path(boundaries) if boundaries else None)
        frames = pipeline.plan_layers()
    from wuzhong_geo import style

    payload = {key: json.loads(frame.to_json(drop_id=True)) for key, frame in frames.items()}
    payload["style"] = {
        "zones": {k: v[2] for k, v in style.ZONES.items()},
        "subregions": {k: v[2] for k, v in style.SUBREGIONS.items()},
        "management_zones": {k: v[2] for k, v in style.MANAGEMENT_ZONES.items()},
        "town_colours": style.TOWN_COLOURS,
        "infrastructure": {k: {"label": v[0], "colour": v[2], "width": v[3]}
                           for k, v in style.INFRASTRUCTURE_KINDS.items()},
        "places": {k: {"label": v[0], "colour": v[2]} for k, v in style.PLACE_CATEGORIES.items()},
        "policies": {k: {"label": v[0], "colour": v[2]} for k, v in style.POLICY_KINDS.items()},
        "policy_alpha": style.POLICY_ALPHA,
        "status": {k: {"label": style.SITE_STATUS_LABELS.get(k, (k, k))[0],
                       "label_en": style.SITE_STATUS_LABELS.get(k, (k, k))[1], "colour": c}
                   for k, c in style.SITE_STATUS_COLOURS.items()},
        "status_unknown": style.SITE_STATUS_UNKNOWN,
        "water": style.WATER, "water_edge": style.WATER_EDGE, "district_edge": style.DISTRICT_EDGE,
        "town_edge": style.TOWN_EDGE, "halo": style.HALO, "selected": style.INK,
    }
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str)


def _plan_layers_json(boundaries: Path | None) -> str:
    stamp = boundaries.stat().st_mtime if boundaries else 0.0
    return _plan_layers_cached(str(boundaries) if boundaries else None, stamp)


@lru_cache(maxsize=1)
def _leaflet() -> tuple[str, str]:
    return pipeline.leaflet_assets()


def _warm_up() -> None:
    try:
        _leaflet()
        _plan_layers_json(None)
        pipeline.where(120.6, 31.25, None, None)
    except Exception:  # a warm-up failure shows again, with its message, on the first real request
        log.debug("warm-up failed", exc_info=True)


def create_app(limits: Limits | None = None, allowed_hosts: list[str] | None = None,
               boundaries: Path | None = None) -> Starlette:
    """Return the ASGI application (``allowed_hosts``: Host header values accepted; None: any)."""
    return App(limits=limits, allowed_hosts=allowed_hosts, boundaries=boundaries).starlette

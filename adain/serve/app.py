"""The web app: a small Starlette (ASGI) application over one `Stylizer`, serving a plain HTML/JS page.

Why so plain: the page needs a handful of JSON calls and one image per slider move, and Starlette's
TestClient tests every route in-process without a browser or network; Gradio would bring hundreds of
megabytes of dependencies and hide the requests the tests need to check (docs/serve.md).

Rules the routes keep:
* No request names a file. Uploads are request bodies read into memory up to a cap; examples are picked
  by index from lists read at start; the page's own files are served from memory.
* One model, one lock: requests that run the network queue for it (FIFO under Starlette's thread pool),
  so concurrent tabs never interleave into wrong results.
* Every tab has its own `Session` (a random id the page keeps in sessionStorage and sends as `X-Session`);
  a session never sees another's images.
* Bad input is a JSON `{"error": sentence}` with a 4xx status, and the server keeps serving. Every body is
  capped before it is read or parsed (JSON at `MAX_JSON_BYTES`, uploads at `--max-upload-mb`).
* Only its own page can drive it (`Guard`): the `Host` header must name the bound address (or loopback
  names), which defeats DNS rebinding, and a state-changing request that carries an `Origin` must come from
  the same origin or one named by `--allow-origin` (a page on another site cannot post to it), as Jupyter does.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adain.errors import UserError
from adain.inference.stylizer import Stylizer
from adain.inference.tiling import DEFAULT_TILE
from adain.media.images import read_image_bytes
from adain.serve.config import (
    LOOPBACK_NAMES,
    MAX_JSON_BYTES,
    WILDCARD_HOSTS,
    ServeConfig,
    host_name,
    is_ip,
    normal_origin,
)
from adain.serve.examples import Example, load_examples
from adain.serve.session import Picture, Session, Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_HEADER = "X-Session"
OUTPUT_SIZES = (512, 1024, 0)  # the page's choices: the content's smaller side, 0 = as uploaded
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
log = logging.getLogger("adain.serve")


class HttpError(Exception):
    """A refusal with its HTTP status; the message is the sentence the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Studio:
    """The model, the tabs' sessions and the lock that queues work on the model."""

    def __init__(
        self,
        stylizer: Stylizer,
        config: ServeConfig,
        contents: list[Example] | None = None,
        styles: list[Example] | None = None,
    ) -> None:
        self.stylizer, self.config = stylizer, config
        self.tile = config.tile or DEFAULT_TILE
        if contents is None or styles is None:
            loaded = load_examples(config.examples, config.gallery)
            contents = loaded[0] if contents is None else contents
            styles = loaded[1] if styles is None else styles
        self.examples = {"content": contents, "style": styles}
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.sessions_lock = threading.Lock()
        self.model_lock = threading.Lock()

    def new_session(self) -> str:
        token = secrets.token_urlsafe(18)
        with self.sessions_lock:
            self.sessions[token] = Session(self.config.preview_size, self.config.style_size)
            while len(self.sessions) > self.config.max_sessions:
                self.sessions.popitem(last=False)
        return token

    def session(self, request: Request) -> Session:
        token = request.headers.get(SESSION_HEADER, "")
        with self.sessions_lock:
            session = self.sessions.get(token)
            if session is None:
                raise HttpError(404, "this page's session has expired or is unknown: reload the page")
            self.sessions.move_to_end(token)
            session.last_used = time.monotonic()
            return session

    def example(self, kind: str, index: str) -> Example:
        options = self.examples.get(kind, [])
        if not (index.isascii() and index.isdigit() and len(index) <= 6) or int(index) >= len(options):
            raise HttpError(404, f"there is no {kind} example {index[:20]!r}")
        return options[int(index)]

    def run(self, work: Callable[[], object]) -> Awaitable[object]:
        """Run model work in the thread pool, one request at a time."""

        def locked():
            with self.model_lock:
                return work()

        return run_in_threadpool(locked)


def route(handler: Callable[[Studio, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Errors as JSON sentences: UserError 400, HttpError its status, anything unexpected 500 (and logged)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request.app.state.studio, request)
        except UserError as exc:
            return JSONResponse({"error": sentence(str(exc))}, status_code=400)
        except HttpError as exc:
            return JSONResponse({"error": sentence(str(exc))}, status_code=exc.status)
        except Exception:  # noqa: BLE001 - the server keeps serving; the page says something went wrong
            log.exception("unexpected error in %s", request.url.path)
            return JSONResponse({"error": "Something went wrong on the server (see its log)."}, status_code=500)

    return endpoint


def sentence(message: str) -> str:
    message = message.strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes: a huge upload is never held whole."""
    megabytes = f"{round(limit / 1024 / 1024, 2):g} MB"
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        size = int(declared) / 1024 / 1024
        raise HttpError(413, f"the file is {size:.1f} MB, more than the {megabytes} this server accepts")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HttpError(413, f"the file is larger than the {megabytes} this server accepts")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_picture(studio: Studio, request: Request, kind: str) -> Picture:
    """An uploaded picture (the body; `?name=` its file name) or an example (`?example=N`)."""
    if "example" in request.query_params:
        example = studio.example(kind, request.query_params["example"])
        await read_body(request, studio.config.max_upload_bytes)
        return Picture(example.image, example.name)
    data = await read_body(request, studio.config.max_upload_bytes)
    name = Path(request.query_params.get("name", "") or f"{kind}.png").name or f"{kind}.png"  # display only
    image = await run_in_threadpool(read_image_bytes, data, f"“{name}”", studio.config.max_pixels)
    return Picture(image, name)


def jpeg_data_url(image: np.ndarray, quality: int = 92) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


async def read_json(request: Request, limit: int = MAX_JSON_BYTES) -> object:
    """The body as JSON, capped before parsing; every parse failure a UserError sentence."""
    data = await read_body(request, limit)
    try:
        return json.loads(data)
    except RecursionError:
        raise UserError("the settings are nested too deeply to be settings") from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UserError("the settings are not valid JSON") from None


async def read_settings(request: Request) -> tuple[Settings, int]:
    values = await read_json(request)
    settings = Settings.parse(values)
    size = values.get("size", OUTPUT_SIZES[0])
    if isinstance(size, bool) or size not in OUTPUT_SIZES:
        raise UserError(f"size must be one of {', '.join(map(str, OUTPUT_SIZES))} (0: original), got {size!r}")
    return settings, int(size)


# -- routes ------------------------------------------------------------------------------------------------------------


@route
async def index(studio: Studio, request: Request) -> Response:
    return static_response(request.app.state.static, "index.html")


@route
async def static(studio: Studio, request: Request) -> Response:
    return static_response(request.app.state.static, request.path_params["name"])


def static_response(files: dict[str, bytes], name: str) -> Response:
    if name not in files:
        raise HttpError(404, "not found")
    kinds = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
    return Response(files[name], media_type=kinds.get(Path(name).suffix, "application/octet-stream"))


@route
async def info(studio: Studio, request: Request) -> Response:
    config = studio.config
    return JSONResponse(
        {
            "model": config.model,
            "max_upload_mb": config.max_upload_mb,
            "max_megapixels": config.max_megapixels,
            "preview_size": config.preview_size,
            "sizes": list(OUTPUT_SIZES),
            "examples": {
                kind: [{"index": i, "title": e.title} for i, e in enumerate(options)]
                for kind, options in studio.examples.items()
            },
        }
    )


@route
async def thumbnail(studio: Studio, request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in studio.examples:
        raise HttpError(404, "not found")
    example = studio.example(kind, request.path_params["index"])
    return Response(example.thumbnail, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@route
async def new_session(studio: Studio, request: Request) -> Response:
    return JSONResponse({"session": studio.new_session()})


@route
async def content(studio: Studio, request: Request) -> Response:
    session = studio.session(request)
    picture = await read_picture(studio, request, "content")
    await studio.run(lambda: session.set_content(picture, studio.stylizer))
    height, width = picture.image.shape[:2]
    preview = np.asarray(session.prepared_content[0].numpy(), np.uint8)
    return JSONResponse({"name": picture.name, "width": width, "height": height, "preview": jpeg_data_url(preview)})


@route
async def style(studio: Studio, request: Request) -> Response:
    session = studio.session(request)
    text = request.path_params["slot"]
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise HttpError(404, f"there is no style slot {text!r}")
    slot = int(text)
    if request.method == "DELETE":
        session.remove_style(slot)
        return JSONResponse({"removed": slot})
    picture = await read_picture(studio, request, "style")
    await studio.run(lambda: session.set_style(slot, picture, studio.stylizer))
    return JSONResponse({"name": picture.name, "thumbnail": jpeg_data_url(thumbnail_of(picture.image))})


def thumbnail_of(image: np.ndarray, size: int = 160) -> np.ndarray:
    picture = Image.fromarray(image)
    picture.thumbnail((size, size), Image.LANCZOS)
    return np.asarray(picture)


@route
async def mask(studio: Studio, request: Request) -> Response:
    session = studio.session(request)
    if request.method == "DELETE":
        session.set_mask(None)
        return JSONResponse({"removed": "mask"})
    picture = await read_picture(studio, request, "mask")
    session.set_mask(picture)
    return JSONResponse({"name": picture.name})


@route
async def stylize(studio: Studio, request: Request) -> Response:
    session = studio.session(request)
    settings, size = await read_settings(request)
    start = time.perf_counter()
    image = await studio.run(lambda: session.preview(settings, studio.stylizer))
    seconds = time.perf_counter() - start
    command = session.command(settings, size, studio.tile, studio.config.checkpoint)
    height, width = image.shape[:2]
    return JSONResponse(
        {"image": jpeg_data_url(image), "width": width, "height": height, "seconds": seconds, "command": command}
    )


@route
async def download(studio: Studio, request: Request) -> Response:
    session = studio.session(request)
    settings, size = await read_settings(request)
    session.check_ready(settings)
    check_download_size(session, settings, size, studio.config)
    image = await studio.run(lambda: session.full_size(settings, size, studio.tile, studio.stylizer))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    name = f"{Path(session.content.name).stem}_stylized.png"
    return Response(
        buffer.getvalue(),
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{ascii_name(name)}"'},
    )


def ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)


def check_download_size(session: Session, settings: Settings, size: int, config: ServeConfig) -> None:
    """Refuse a download that would be stylized in one piece and too large for memory (tiling needs one plain style)."""
    height, width = session.content.image.shape[:2]
    if size:
        scale = size / min(height, width)
        height, width = round(height * scale), round(width * scale)
    tiled = size == 0 and len(session.styles) == 1 and not settings.use_mask and not settings.preserve_color
    megapixels = height * width / 1e6
    if not tiled and megapixels > config.untiled_megapixels:
        raise UserError(
            f"this download would be {megapixels:.1f} megapixels in one piece, more than the "
            f"{config.untiled_megapixels:g} this server stylizes untiled: choose a smaller output size "
            "(original sizes are tiled with one style, no mask and no colour preservation)"
        )


def read_static(folder: Path = STATIC_DIR) -> dict[str, bytes]:
    """The page's files, read once: requests pick them by name from this dict, never from the disk."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def create_app(
    stylizer: Stylizer,
    config: ServeConfig | None = None,
    contents: list[Example] | None = None,
    styles: list[Example] | None = None,
) -> Starlette:
    """The ASGI app over a loaded `Stylizer`; `contents`/`styles` replace the configured examples (tests)."""
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/api/info", info),
            Route("/api/thumbnail/{kind}/{index}", thumbnail),
            Route("/api/session", new_session, methods=["POST"]),
            Route("/api/content", content, methods=["POST"]),
            Route("/api/style/{slot}", style, methods=["POST", "DELETE"]),
            Route("/api/mask", mask, methods=["POST", "DELETE"]),
            Route("/api/stylize", stylize, methods=["POST"]),
            Route("/api/download", download, methods=["POST"]),
        ]
    )
    config = config or ServeConfig()
    app.state.studio = Studio(stylizer, config, contents, styles)
    app.state.static = read_static()
    app.add_middleware(Guard, config=config)
    return app


# -- who may talk to it ------------------------------------------------------------------------------------------------


class Guard:
    """ASGI middleware: refuse (403) a `Host` it does not answer to and a cross-site `Origin` on a state change,
    and (413) a body whose declared length passes the upload cap, before any route runs.

    `Host` must be a loopback name, the bound address, or `allow_hosts`; bound to every interface
    (0.0.0.0), any IP address and this machine's name pass too. A DNS-rebinding page sends its own
    domain as `Host`, so it is refused. Browsers send `Origin` with every cross-site POST: it must
    match `Host` (the page itself) or be one of `allow_origins`. Requests without `Origin` (curl,
    scripts) are not a browser's and pass.
    """

    def __init__(self, app: ASGIApp, config: ServeConfig) -> None:
        self.app, self.config = app, config
        hosts = {*LOOPBACK_NAMES, host_name(config.host), *(host_name(h) for h in config.allow_hosts)}
        self.any_ip = config.host in WILDCARD_HOSTS
        if self.any_ip:
            hosts |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.hosts = hosts
        self.origins = {normal_origin(origin) for origin in config.allow_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        problem = self.problem(scope["method"], scope.get("scheme", "http"), headers)
        if problem:
            status, message = problem
            await JSONResponse({"error": sentence(message)}, status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def problem(self, method: str, scheme: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        name = host_name(host)
        if not (name in self.hosts or (self.any_ip and is_ip(name))):
            return 403, f"this server does not answer to the host name {host[:100]!r} (see adain serve --help)"
        if method not in SAFE_METHODS and "origin" in headers:
            origin = normal_origin(headers["origin"])
            same = origin is not None and origin == f"{scheme}://{host.strip().lower()}"
            if not same and origin not in self.origins:
                return 403, (
                    f"requests from the page at {headers['origin'][:100]!r} are refused: only this server's "
                    "own page may change things (adain serve --allow-origin allows another)"
                )
        declared = headers.get("content-length", "")
        if declared and not (declared.isascii() and declared.isdigit()):
            return 400, "the Content-Length header is not a number"
        if declared and (len(declared) > 15 or int(declared) > self.config.max_upload_bytes):
            megabytes = f"{round(self.config.max_upload_bytes / 1024 / 1024, 2):g} MB"
            return (
                413,
                f"the file is {int(declared) / 1024 / 1024:.1f} MB, more than the {megabytes} this server accepts",
            )
        return None

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
* Bad input is a JSON `{"error": sentence}` with a 4xx status, and the server keeps serving.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adain.errors import UserError
from adain.inference.stylizer import Stylizer
from adain.inference.tiling import DEFAULT_TILE
from adain.media.images import read_image_bytes
from adain.serve.examples import Example, load_examples
from adain.serve.session import STYLE_SIZE, Picture, Session, Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_HEADER = "X-Session"
OUTPUT_SIZES = (512, 1024, 0)  # the page's choices: the content's smaller side, 0 = as uploaded
log = logging.getLogger("adain.serve")


@dataclass(frozen=True)
class ServeConfig:
    """What `adain serve` fixes at start (the checkpoint among them: a request cannot change the model)."""

    checkpoint: str | None = None  # as `--checkpoint` names it; None: the default model (the shown command omits it)
    model: str = "the shipped model"  # what the page says it runs
    max_upload_mb: float = 20.0
    max_megapixels: float = 40.0
    preview_size: int = 512  # the content's smaller side while the sliders move
    style_size: int = STYLE_SIZE  # the styles' smaller side, previews and downloads alike
    tile: int = DEFAULT_TILE  # a download at original size with one plain style is tiled above this side
    untiled_megapixels: float = 4.0  # larger downloads that cannot be tiled are refused (memory)
    max_sessions: int = 32  # tabs kept; the least recently used one is forgotten first
    examples: str | None = None  # folder of example contents (default: scikit-image's photos)
    gallery: str | None = None  # folder of the style gallery (default: adain/serve/gallery, else textures)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)


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
        options = self.examples[kind]
        if not index.isdigit() or int(index) >= len(options):
            raise HttpError(404, f"there is no {kind} example {index!r}")
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
    if declared.isdigit() and int(declared) > limit:
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


async def read_settings(request: Request) -> tuple[Settings, int]:
    try:
        values = await request.json()
    except ValueError:
        raise UserError("the settings are not valid JSON") from None
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
    slot = int(request.path_params["slot"])
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
    command = session.command(settings, size, studio.config.tile, studio.config.checkpoint)
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
    image = await studio.run(lambda: session.full_size(settings, size, studio.config.tile, studio.stylizer))
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
            Route("/api/style/{slot:int}", style, methods=["POST", "DELETE"]),
            Route("/api/mask", mask, methods=["POST", "DELETE"]),
            Route("/api/stylize", stylize, methods=["POST"]),
            Route("/api/download", download, methods=["POST"]),
        ]
    )
    app.state.studio = Studio(stylizer, config or ServeConfig(), contents, styles)
    app.state.static = read_static()
    return app

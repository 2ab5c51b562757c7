"""adain serve: the web app (adain.serve) on one checkpoint, chosen here, at start, and only here."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from adain.cli.common import ArgumentParser, tensorflow_quietly
from adain.errors import UserError
from adain.serve.config import ServeConfig
from adain.shipped import resolve_checkpoint

DESCRIPTION = """Stylize in the browser: a local web app on one trained decoder (the shipped model by default).

Open the address it prints. In the page: upload or drop a photo (or pick an example), pick a
painting from the gallery or upload one, and drag the sliders: alpha (content-style trade-off),
the mix of a second style, colour preservation, a mask painted on the photo (white: first style,
black: second). The content's features and each style's statistics are computed once and cached,
so a slider move costs one decode. Download writes the full-resolution result, and the page shows
the equivalent `adain stylize` command.

Limits: it listens on 127.0.0.1 (this machine only) unless --host says otherwise; uploads are
capped by --max-upload-mb and --max-megapixels; requests run one at a time on the model; every
browser tab has its own images. Only its own page can drive it: requests must name it as
127.0.0.1, localhost, [::1] or --host (else 403: no DNS rebinding), and a page from another site
cannot post to it unless --allow-origin names that site. Needs the `app` extra: pip install
'.[app]'. Ctrl-C or SIGTERM stops it and removes its temporary files."""

EXAMPLES = """examples:
  adain serve                                   # the shipped model on http://127.0.0.1:8000
  adain serve --checkpoint checkpoints/demo --port 8080
  adain serve --gallery my_paintings/ --examples my_photos/
  adain serve --host 0.0.0.0 --max-upload-mb 50  # reachable from the network: think twice
  adain serve --allow-host mybox.lan             # answer to another name for this machine
  adain serve --allow-origin http://localhost:3000  # let another local page post to the API"""


def build_parser(prog: str = "adain serve") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument(
        "--checkpoint",
        metavar="RUN_DIR",
        help="run directory from train.py (or a decoder .keras file). "
        "Default: the shipped model, checkpoints/adain-corpus ($ADAIN_CHECKPOINT overrides)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB", help="largest upload (default 20)")
    parser.add_argument(
        "--max-megapixels", type=float, default=40.0, metavar="MP", help="most pixels of an uploaded image (default 40)"
    )
    parser.add_argument(
        "--preview-size",
        type=int,
        default=512,
        metavar="N",
        help="the content's smaller side while the sliders move (default 512; smaller is faster)",
    )
    parser.add_argument(
        "--style-size",
        type=int,
        default=512,
        metavar="N",
        help="the styles' smaller side, as adain stylize's --style-size (default 512)",
    )
    parser.add_argument("--gallery", metavar="DIR", help="folder of style paintings (default: adain/serve/gallery)")
    parser.add_argument("--examples", metavar="DIR", help="folder of example photos (default: scikit-image's)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name the Host header may carry (repeatable; default: loopback names and --host)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="URL",
        help="another page origin (http://host:port) that may post to the API (repeatable; default: none)",
    )
    parser.add_argument("--vgg-weights", metavar="PATH", help="VGG-19 weights file (default: as the run was trained)")
    return parser


def check_args(args) -> ServeConfig:
    """Everything that can be wrong with the command line, before TensorFlow is imported; the app's settings."""
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {args.port}")
    config = ServeConfig(
        checkpoint=args.checkpoint,
        max_upload_mb=args.max_upload_mb,
        max_megapixels=args.max_megapixels,
        preview_size=args.preview_size,
        style_size=args.style_size,
        examples=args.examples,
        gallery=args.gallery,
        host=args.host,
        allow_hosts=tuple(args.allow_host),
        allow_origins=tuple(args.allow_origin),
    )
    for option in ("preview_size", "style_size"):
        if getattr(args, option) < 64:
            raise UserError(f"--{option.replace('_', '-')} must be at least 64, got {getattr(args, option)}")
    for option in ("gallery", "examples"):
        folder = getattr(args, option)
        if folder is not None and not Path(folder).is_dir():
            raise UserError(f"--{option}: not a folder: {folder}")
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            raise UserError(f"adain serve needs {module}: pip install '.[app]' (or adain[app])")
    try:
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
            probe.bind((args.host, args.port))
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = check_args(args)
    checkpoint = resolve_checkpoint(args.checkpoint)
    print(f"loading the model from {checkpoint} ...", file=sys.stderr, flush=True)
    with tensorflow_quietly():
        from adain.inference.stylizer import Stylizer
        from adain.serve.app import create_app
    import uvicorn

    stylizer = Stylizer.from_checkpoint(checkpoint, args.vgg_weights)
    model = str(args.checkpoint) if args.checkpoint else f"the default model ({display(checkpoint)})"
    app = create_app(stylizer, dataclasses.replace(config, model=model))
    with (
        tempfile.TemporaryDirectory(prefix="adain-serve-") as scratch,
        scratch_tempdir(scratch),
        terminate_unwinds(),
    ):
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
        listening = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((args.host, args.port))
        port = listening.getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        where = "this machine only" if args.host in ("127.0.0.1", "localhost", "::1") else "REACHABLE FROM THE NETWORK"
        print(f"adain serve: http://{host}:{port}/  (listening on {args.host}, {where}; Ctrl-C stops)", flush=True)
        server.run(sockets=[listening])
    return 0


def display(path: Path) -> str:
    """A path relative to the working directory when it is below it (the page shows it)."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def terminate_unwinds():
    """SIGTERM unwinds the stack like Ctrl-C, so the temporary folder is removed either way.

    uvicorn catches SIGTERM to shut down gracefully and then raises it again once it has: with the default
    handler that kills the process at once, inside the `with` that would have removed the folder.
    """

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def scratch_tempdir(folder: str):
    """Any temporary file a library makes while serving goes into our own folder, removed when the server stops."""
    saved = tempfile.tempdir
    tempfile.tempdir = folder
    try:
        yield
    finally:
        tempfile.tempdir = saved

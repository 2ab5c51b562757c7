"""Shared command-line plumbing: a quiet TensorFlow start, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import NoReturn

from adain.errors import UserError
from adain.media.files import out_of_room

EXIT_USAGE = 2
TF_LOGS_ENV = "ADAIN_TF_LOGS"  # set to 1 to see TensorFlow's log lines (start-up and later)
# What TensorFlow's C++ runtime prints while it starts, on every machine: absl's "before InitializeLog" notice,
# INFO/WARNING/ERROR lines such as "Could not find cuda drivers" and, without a GPU, "failed call to cuInit".
START_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def tensorflow_logs_wanted() -> bool:
    return os.environ.get(TF_LOGS_ENV, "") not in ("", "0")


def quiet_tensorflow() -> None:
    """Before TensorFlow is imported: its C++ log lines off for the whole run (unless ADAIN_TF_LOGS=1).

    Level 3, not 2: TensorFlow logs some harmless notices at ERROR level *after* start-up, when an op
    first runs (without AVX-512: "E0000 ... util.cc] oneDNN supports DT_INT32 only on platforms with
    AVX-512"), which the start-up filter below cannot see. Set over any TF_CPP_MIN_LOG_LEVEL inherited
    from the environment (2 is the usual advice, and lets those lines through); ADAIN_TF_LOGS=1 (or
    `adain --verbose`) leaves TensorFlow's own settings alone. Real failures still reach the user:
    as Python exceptions, which become one `error:` line or a traceback.
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not tensorflow_logs_wanted():
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


@contextlib.contextmanager
def start_noise_filtered() -> Iterator[None]:
    """Capture stderr (the file descriptor: C++ writes there too) and give back all but TensorFlow's start-up lines."""
    if tensorflow_logs_wanted():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not START_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


@contextlib.contextmanager
def tensorflow_quietly() -> Iterator[None]:
    """Around a command's ordinary imports of modules that bring TensorFlow: TensorFlow starts and finds its
    devices without the start-up noise.

        with tensorflow_quietly():
            from adain.inference.stylizer import Stylizer
    """
    quiet_tensorflow()
    with start_noise_filtered():
        yield
        tensorflow = importlib.import_module("tensorflow")
        tensorflow.config.list_physical_devices()  # CUDA initialisation: where "failed call to cuInit" comes from


def import_quietly(module: str) -> ModuleType:
    """`tensorflow_quietly` for a module named at run time (tests, benches)."""
    with tensorflow_quietly():
        return importlib.import_module(module)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line, exit code 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see {self.prog} --help)")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def is_out_of_memory(exc: BaseException) -> bool:
    """numpy's MemoryError, or TensorFlow's ResourceExhaustedError (CPU RAM or accelerator memory)."""
    tensorflow = sys.modules.get("tensorflow")  # never imported here: only if the command already did
    errors = getattr(tensorflow, "errors", None)
    return isinstance(exc, MemoryError) or (errors is not None and isinstance(exc, errors.ResourceExhaustedError))


def out_of_memory_detail(exc: BaseException) -> str:
    match = re.search(r"OOM when allocating tensor with shape\s*\[[^\]]*\]", str(exc))
    return f" ({match.group(0)})" if match else ""


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> NoReturn:
    """Run a CLI main: UserError -> one line + exit 2; Ctrl-C -> exit 130."""
    quiet_tensorflow()
    try:
        code = main(argv)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    except Exception as exc:
        reason = out_of_room(exc)  # before memory: a full disk's TensorFlow error is a ResourceExhaustedError too
        if reason:
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            fail(f"a write failed: {reason} ({detail})")
        if not is_out_of_memory(exc):
            raise
        fail(
            f"out of memory{out_of_memory_detail(exc)}: use smaller images (--content-size, --style-size, --tile) or batches"
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)

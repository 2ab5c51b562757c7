"""What the repository ships for users: the trained model (used when no checkpoint is named) and the demo paintings.

It lives in the repository (`checkpoints/<name>/`, `examples/styles/`) because it is trained, measured
and versioned with the code, and travels in the wheel: setup.py maps those folders onto the data
packages `adain._checkpoints` and `adain._examples`. A checkout's folders win over an installed copy;
`ADAIN_CHECKPOINT` points every command at another run directory or decoder file instead. Its model
card is `checkpoints/<name>/README.md`. No TensorFlow here: the command line resolves it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from adain.errors import UserError

SHIPPED_MODEL = "adain-corpus"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # a checkout's root; in an installed wheel, site-packages


def _shipped(repo_folder: str, package_folder: str, relative: str) -> Path:
    """A checkout's `repo_folder/relative` if there is one, else the wheel's `adain/package_folder/relative`."""
    checkout = REPO_ROOT / repo_folder / relative
    installed = PACKAGE_DIR / package_folder / relative
    return installed if installed.exists() and not checkout.exists() else checkout


SHIPPED_DIR = _shipped("checkpoints", "_checkpoints", SHIPPED_MODEL)
CHECKPOINT_ENV = "ADAIN_CHECKPOINT"
# public-domain paintings: the demo's styles, the web app's gallery
EXAMPLE_STYLES = _shipped("examples", "_examples", "styles")


def default_checkpoint() -> Path:
    """`$ADAIN_CHECKPOINT`, else the shipped model's run directory; a one-line UserError if its decoder is missing."""
    named = os.environ.get(CHECKPOINT_ENV)
    path = Path(named) if named else SHIPPED_DIR
    decoder = path if path.suffix == ".keras" else path / "decoder.keras"
    if not decoder.is_file():
        origin = f"${CHECKPOINT_ENV}" if named else "the shipped model"
        raise UserError(f"default checkpoint not found: {decoder} ({origin}); pass --checkpoint RUN_DIR")
    return path


def resolve_checkpoint(checkpoint: str | os.PathLike | None) -> Path:
    """The checkpoint a command uses: the one named, else the default one."""
    if checkpoint is None or str(checkpoint) == "":
        return default_checkpoint()
    path = Path(checkpoint)
    if not path.exists():
        raise UserError(f"checkpoint not found: {checkpoint}")
    return path

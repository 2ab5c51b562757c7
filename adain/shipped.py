"""What the repository ships for users: the trained model (used when no checkpoint is named) and the demo paintings.

It lives in the repository (not in the wheel) because it is trained, measured and versioned with the
code; `ADAIN_CHECKPOINT` points every command at another run directory or decoder file instead. Its
model card is `checkpoints/<name>/README.md`. No TensorFlow here: the command line resolves it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from adain.errors import UserError

SHIPPED_MODEL = "adain-corpus"
REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = REPO_ROOT / "checkpoints" / SHIPPED_MODEL
CHECKPOINT_ENV = "ADAIN_CHECKPOINT"
EXAMPLE_STYLES = REPO_ROOT / "examples" / "styles"  # public-domain paintings: the demo's styles, the web app's gallery


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

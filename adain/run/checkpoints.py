"""Resume that never destroys progress: restore the newest checkpoint that actually restores.

Candidates are every `ckpt-N` in the directory (an `.index` file) and every one `checkpoints/checkpoint`
names, newest first. Each is read in full (every tensor) before anything is assigned, so a truncated
`.index` or `.data` file is skipped with one line saying which and why. Checkpoints newer than the one
restored cannot be restored; they are moved into `unusable/` (nothing is deleted), and the state file is
rewritten to list only what is left, so CheckpointManager's `max_to_keep` can never delete or overwrite a
checkpoint newer than the step it writes.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import tensorflow as tf

from adain.errors import UserError
from adain.media.files import out_of_room, write_text

UNUSABLE_DIR = "unusable"
_STEP = re.compile(r"^ckpt-(\d+)$")


def candidates(directory: Path) -> list[str]:
    """Checkpoint prefixes (`.../ckpt-N`), newest step first: on disk or named by the state file."""
    prefixes = {str(p.with_suffix("")) for p in directory.glob("ckpt-*.index")}
    prefixes |= {str(p).split(".data-")[0] for p in directory.glob("ckpt-*.data-*")}
    try:
        state = tf.train.get_checkpoint_state(str(directory))
    except Exception:  # noqa: BLE001 - an unreadable state file names nothing; the files still count
        state = None
    if state is not None:
        for name in list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]:
            if name:
                prefixes.add(str(directory / Path(name).name))
    steps = {prefix: _step(prefix) for prefix in prefixes}
    return sorted((p for p in prefixes if steps[p] is not None), key=lambda p: steps[p], reverse=True)


def _step(prefix: str) -> int | None:
    match = _STEP.match(Path(prefix).name)
    return int(match.group(1)) if match else None


def _files(prefix: str) -> list[Path]:
    prefix_path = Path(prefix)
    return sorted(prefix_path.parent.glob(prefix_path.name + ".*"))


def verify(prefix: str) -> None:
    """Read every tensor of a checkpoint; raises if any file is missing, truncated or corrupt."""
    if not Path(prefix + ".index").is_file():
        raise FileNotFoundError(f"{Path(prefix).name}.index is missing")
    reader = tf.train.load_checkpoint(prefix)
    for key in reader.get_variable_to_shape_map():
        reader.get_tensor(key)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def restore_newest(
    checkpoint: tf.train.Checkpoint, directory: str | os.PathLike, partial: bool = False, hint: str = ""
) -> str | None:
    """Restore the newest checkpoint that restores; None if the directory holds none at all.

    Skipped ones are reported on stderr. If there are checkpoints but none restores: UserError.
    `partial`: the checkpoint may hold more than `checkpoint` (inference reads only the decoder).
    """
    directory = Path(directory)
    found = candidates(directory) if directory.is_dir() else []
    for prefix in found:
        try:
            verify(prefix)
            status = checkpoint.restore(prefix)
            status.expect_partial() if partial else status.assert_existing_objects_matched()
        except Exception as exc:  # noqa: BLE001 - any failure means this one does not restore
            print(f"checkpoint: skipped {prefix}: {_reason(exc)}", file=sys.stderr)
            continue
        return prefix
    if found:
        raise UserError(f"no checkpoint in {directory} restores (tried {len(found)}, see above){hint}")
    return None


def remove_failed_saves(directory: str | os.PathLike) -> list[Path]:
    """Remove the `ckpt-N_temp/` folders a failed save leaves (TensorFlow writes shards there, then merges them).

    They are never a checkpoint (a save that completed has renamed its shards), and each holds a whole
    checkpoint's bytes: on a full disk, keeping them keeps the disk full.
    """
    removed = []
    for temp in sorted(Path(directory).glob("ckpt-*_temp")):
        if temp.is_dir() and not temp.is_symlink():
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp)
    return removed


def save_checkpoint(manager: tf.train.CheckpointManager, step: int) -> str:
    """`manager.save` at `step`; a save that runs out of room is one UserError, and leaves no temp folder."""
    try:
        return manager.save(checkpoint_number=step)
    except Exception as exc:  # noqa: BLE001 - TensorFlow's OutOfRangeError / ResourceExhaustedError among others
        reason = out_of_room(exc)
        if reason is None:
            raise
        remove_failed_saves(manager.directory)
        target = Path(manager.directory) / f"ckpt-{step}"
        raise UserError(f"cannot write checkpoint {target}: {reason} (earlier checkpoints are kept)") from None


def settle(directory: str | os.PathLike, restored: str | None) -> None:
    """After a restore: move unusable checkpoints newer than `restored` aside, rewrite the state file.

    `restored` None (a fresh start) moves every checkpoint file aside: a fresh run starts at step 0 and
    must not overwrite or delete anything that was there.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    for temp in remove_failed_saves(directory):
        print(f"checkpoint: removed {temp}/, left by a save that failed", file=sys.stderr)
    keep_step = _step(restored) if restored else -1
    kept, moved = [], []
    for prefix in candidates(directory):
        if _step(prefix) <= keep_step and _files(prefix):
            kept.append(prefix)
        elif _files(prefix):
            moved.append(prefix)
    if moved:
        target = directory / UNUSABLE_DIR / time.strftime("%Y%m%d-%H%M%S")
        target.mkdir(parents=True, exist_ok=True)
        for prefix in moved:
            for path in _files(prefix):
                shutil.move(str(path), str(target / path.name))
        print(f"checkpoint: moved {len(moved)} unusable checkpoint(s) to {target}", file=sys.stderr)
    if kept:
        kept.sort(key=_step)
        write_state(directory, kept)
    elif (directory / "checkpoint").exists():
        shutil.move(str(directory / "checkpoint"), str(directory / f"checkpoint.old-{time.strftime('%Y%m%d-%H%M%S')}"))


def write_state(directory: Path, kept: list[str]) -> None:
    """CheckpointManager's `checkpoint` state file (text proto), replaced atomically, naming only `kept`."""
    lines = [f'model_checkpoint_path: "{Path(kept[-1]).name}"']
    lines += [f'all_model_checkpoint_paths: "{Path(p).name}"' for p in kept]
    lines += [f"all_model_checkpoint_timestamps: {Path(p + '.index').stat().st_mtime}" for p in kept]
    oldest = min(Path(p + ".index").stat().st_mtime for p in kept)
    lines.append(f"last_preserved_timestamp: {oldest - 1.0}")  # every kept one stays subject to max_to_keep
    write_text(directory / "checkpoint", "\n".join(lines) + "\n")


def move_aside(directory: str | os.PathLike) -> Path | None:
    """--restart: the old checkpoints go to `<dir>.old-<time>` (kept, not deleted); returns where."""
    directory = Path(directory)
    if not directory.exists():
        return None
    target = directory.with_name(f"{directory.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(directory, target)
    return target

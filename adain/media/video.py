"""Video in and out, frame by frame, through ffmpeg (the optional `video` extra: imageio-ffmpeg).

Frames are read as RGB uint8, handed to a function in batches, and written to one or
more outputs at the input's frame rate (no audio): the output has the input's frame
count and duration. Outputs are written to temporary files and renamed at the end, so
a failed or interrupted run leaves no partial video. No TensorFlow here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from adain.errors import UserError
from adain.media.files import atomic_path, short_write_cause

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
INSTALL_HINT = "video needs the codec library: pip install 'adain[video]' (imageio-ffmpeg)"


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return imageio_ffmpeg


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int


def _header(path: Path) -> dict:
    """The stream's metadata (size, fps), read from its header; every way it fails is one UserError."""
    ffmpeg = _ffmpeg()
    if not path.is_file():
        raise UserError(f"video not found: {path}")
    try:
        reader = ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        raise UserError(f"cannot read video {path}: {first_line(exc)}") from None
    return meta


def frame_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of the frames, from the header alone: cheap, for checks made before any work."""
    width, height = _header(Path(path))["size"]
    return int(height), int(width)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate and exact frame count (ffmpeg decodes the stream once, without us)."""
    path = Path(path)
    meta = _header(path)
    try:
        frames, _ = _ffmpeg().count_frames_and_secs(str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot read video {path}: {first_line(exc)}") from None
    width, height = meta["size"]
    if not frames or not meta.get("fps"):
        raise UserError(f"cannot read video {path}: no video frames")
    return VideoInfo(int(width), int(height), float(meta["fps"]), int(frames))


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """RGB uint8 [H, W, 3] frames."""
    reader = _ffmpeg().read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    try:
        for buffer in reader:
            yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def batches(frames: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    batch = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


class VideoWriter:
    """H.264 writer of RGB uint8 frames at a fixed frame rate, committed atomically by `commit()`.

    Any size is kept exactly (no macro-block resizing): odd sizes use yuv444p, which 4:2:0 cannot hold.
    """

    def __init__(self, path: str | os.PathLike, fps: float, quality: float = 8.0) -> None:
        self.path, self.fps, self.quality = Path(path), fps, quality
        self._writer, self.frames = None, 0
        # ffmpeg picks the container by extension; what it wrote is counted again before the rename
        self._atomic = atomic_path(self.path, suffix=self.path.suffix, verify=self._verify)
        try:
            self.tmp = self._atomic.__enter__()
        except OSError as exc:
            raise UserError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def write(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame, np.uint8)
        if self._writer is None:
            height, width = frame.shape[:2]
            pix_fmt = "yuv420p" if height % 2 == 0 and width % 2 == 0 else "yuv444p"
            self._writer = _ffmpeg().write_frames(
                str(self.tmp),
                (width, height),
                fps=self.fps,
                quality=self.quality,
                codec="libx264",
                pix_fmt_out=pix_fmt,
                macro_block_size=1,
                ffmpeg_log_level="error",
            )
            self._writer.send(None)
        self._writer.send(frame.tobytes())
        self.frames += 1

    def _verify(self, tmp: Path) -> None:
        """ffmpeg may end without an error on a short write (a file-size limit): the file must hold every frame."""
        try:
            frames, _ = _ffmpeg().count_frames_and_secs(str(tmp))
        except (OSError, RuntimeError, ValueError):
            frames = 0
        if frames != self.frames:
            raise UserError(f"cannot write {self.path}: {short_write_cause(tmp)} ({frames} of {self.frames} frames)")

    def commit(self) -> Path:
        try:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        except Exception as exc:  # noqa: BLE001 - ffmpeg's error, named as a failed write of this video
            self.discard()
            raise UserError(f"cannot write {self.path}: {short_write_cause(self.tmp)} ({first_line(exc)})") from None
        self._atomic.__exit__(None, None, None)  # checked (`_verify`), then renamed into place
        return self.path

    def discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - already failing; the temp file goes either way
                pass
            self._writer = None
        discarded = RuntimeError("video discarded")
        self._atomic.__exit__(RuntimeError, discarded, None)  # the temp file is removed


def transform_video(
    source: str | os.PathLike,
    outputs: Sequence[str | os.PathLike],
    transform: Callable[[np.ndarray], Sequence[np.ndarray]],
    batch_size: int = 4,
    description: str = "video",
) -> list[Path]:
    """Run `transform` over batches of frames ([N, H, W, 3] -> one [N, h, w, 3] batch per output), writing each
    output video at the source's frame rate. One pass over the source serves every output."""
    info = probe(source)
    writers: list[VideoWriter] = []
    try:
        for path in outputs:
            writers.append(VideoWriter(path, info.fps))
        with tqdm(total=info.frames, unit="frame", desc=description, dynamic_ncols=True, disable=None) as bar:
            for frames in batches(read_frames(source), batch_size):
                results = transform(frames)
                for writer, result in zip(writers, results, strict=True):
                    for frame in result:
                        writer.write(frame)
                bar.update(len(frames))
        return [writer.commit() for writer in writers]
    except BaseException:
        for writer in writers:
            writer.discard()
        raise

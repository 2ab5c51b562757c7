"""What a function really executes: a tf.profiler trace read back as (op name, op type, seconds).

The trace is the one TensorBoard's profiler plugin shows (pass `logdir` to keep it); reading the
XSpace protobuf directly gives the same per-op times without the plugin, for benchmarks and tests.
Graph-level op lists overstate the work: a tf.function prunes what nothing consumes (e.g. weight
gradients of the frozen encoder), so only a runtime trace says what ran.
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf


@dataclass(frozen=True)
class OpEvent:
    name: str  # e.g. "gradient_tape/decoder/conv8/convolution/Conv2DBackpropFilter"
    type: str  # e.g. "Conv2DBackpropFilter"
    seconds: float
    device: str  # the profiler plane, e.g. "/host:CPU" or "/device:GPU:0"


def _read_events(logdir: Path) -> list[OpEvent]:
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    events = []
    for path in sorted(logdir.rglob("*.xplane.pb")):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            metadata = plane.event_metadata
            for line in plane.lines:
                # TF executor threads on the host; on a GPU, the per-stream kernel lines carry op names too.
                if not (line.name.startswith("tf_Compute") or plane.name.startswith("/device:")):
                    continue
                for event in line.events:
                    label = metadata[event.metadata_id].name
                    if ":" not in label or "::" in label:  # executor bookkeeping, not an op
                        continue
                    name, op_type = label.rsplit(":", 1)
                    events.append(OpEvent(name, op_type, event.duration_ps * 1e-12, plane.name))
    return events


def profile_ops(fn: Callable[[], object], logdir: str | Path | None = None) -> list[OpEvent]:
    """Run `fn` once under the TensorFlow profiler and return the ops it executed."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(logdir) if logdir else Path(tmp)
        tf.profiler.experimental.start(str(directory))
        try:
            fn()
        finally:
            tf.profiler.experimental.stop()
        return _read_events(directory)


def by_type(events: Iterable[OpEvent]) -> list[tuple[str, int, float]]:
    """(op type, count, seconds), most expensive first."""
    count, seconds = collections.Counter(), collections.Counter()
    for event in events:
        count[event.type] += 1
        seconds[event.type] += event.seconds
    return [(op, count[op], s) for op, s in seconds.most_common()]

"""What both benchmarks share: the device, FLOPs from layer shapes, the reference convolution, timing, the table.

FLOPs: a KxK convolution from Cin to Cout channels producing an H x W map costs 2*K*K*Cin*Cout*H*W
(one multiply-add = 2 FLOPs). Only convolutions are counted: bias, ReLU, pooling, upsampling,
padding and AdaIN together are under 1% of the arithmetic. Efficiency = achieved GFLOP/s divided by
the GFLOP/s of one 3x3 convolution, 256->256 channels on a 1x128x128 map (the network's own building
block), measured in the same process on the same device right before and right after each case (their
mean is the row's "ref GFLOP/s"), so a shared machine's changing load hits both sides of the ratio.
"CPU s" is the process's CPU time per call (all threads); "CPU efficiency" is the same ratio per CPU
second, which other processes on a shared machine disturb far less than wall-clock time.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as `python bench/x.py` without installing the package
    sys.path.insert(0, str(REPO))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# The real images beside the clone (`ADAIN_SHARED` moves them), as the tests find them.
SHARED = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared")) / "data"
REFERENCE_SHAPE = (1, 128, 128, 256)
REFERENCE_FLOPS = 2 * 3 * 3 * 256 * 256 * 128 * 128


def hide_gpus() -> None:
    """--cpu: benchmark the CPU even where a GPU is present."""
    tf.config.set_visible_devices([], "GPU")


def device_description() -> str:
    """'GPU: NVIDIA H100 ...' or 'CPU: <model>, N cores' - what the numbers were measured on."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return (
            f"GPU: {details.get('device_name', gpus[0].name)} (compute capability {details.get('compute_capability')})"
        )
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def conv_layer_flops(model: keras.Model, height: int, width: int) -> list[tuple[str, int]]:
    """(layer name, FLOPs) of every convolution of a chain model for one height x width input.

    Walks the layers in order, halving the map at each pooling and doubling it at each upsampling;
    convolutions keep the size ('same' zero padding in the encoder, reflection padding in the decoder).
    """
    result = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.MaxPooling2D):
            height, width = height // 2, width // 2
        elif isinstance(layer, keras.layers.UpSampling2D):
            height, width = height * layer.size[0], width * layer.size[1]
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            result.append((layer.name, 2 * kh * kw * cin * cout * height * width))
    return result


def model_flops(model: keras.Model, height: int, width: int) -> int:
    return sum(flops for _, flops in conv_layer_flops(model, height, width))


def gflops_str(flops: float) -> str:
    return f"{flops / 1e9:.1f}"


@dataclass
class Timing:
    """Seconds per call: the first call (tracing + compiling + running) and the calls after warm-up."""

    first: float
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU seconds per call, all threads

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 1, min_sample_s: float = 0.05) -> Timing:
    """Time `fn` (which must wait for its result, e.g. return numpy). On a fast device a sample
    groups several calls so that it lasts at least `min_sample_s`; per-call seconds are reported."""
    start = time.perf_counter()
    fn()
    timing = Timing(first=time.perf_counter() - start)
    per_call = []
    for _ in range(warmup):
        start = time.perf_counter()
        fn()
        per_call.append(time.perf_counter() - start)
    inner = max(1, int(np.ceil(min_sample_s / max(min(per_call or [timing.first]), 1e-9))))
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        timing.samples.append((time.perf_counter() - start) / inner)
        timing.cpu.append((time.process_time() - cpu_start) / inner)
    return timing


class Reference:
    """GFLOP/s of the reference 3x3 convolution, in the compute dtype the cases use."""

    def __init__(self, dtype: str = "float32", repeats: int = 10) -> None:
        rng = np.random.default_rng(0)
        self.x = tf.constant(rng.standard_normal(REFERENCE_SHAPE), dtype)
        self.k = tf.constant(rng.standard_normal((3, 3, 256, 256)) * 0.03, dtype)
        self.conv = tf.function(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME")[:1, :1, :1, :1])
        self.repeats, self.dtype = repeats, dtype
        self.points: list[float] = []  # GFLOP/s of each measurement
        self.cpu_points: list[float] = []  # GFLOP per CPU second of each measurement

    def measure(self, record: bool = True) -> float:
        """Time the reference again; returns this measurement's GFLOP/s (median of its samples).

        `record=False` only warms up: the first measurement of a process ran up to 2x slow."""
        timing = time_calls(lambda: self.conv(self.x, self.k).numpy(), self.repeats, warmup=2)
        gflops = REFERENCE_FLOPS / timing.median / 1e9
        if record:
            self.points.append(gflops)
            self.cpu_points.append(REFERENCE_FLOPS / statistics.median(timing.cpu) / 1e9)
        return gflops

    @property
    def gflops(self) -> float:
        return statistics.median(self.points)

    def bracket(self, make_row: Callable[[], Row]) -> Row:
        """Run one case between two reference measurements; the row keeps their mean."""
        if not self.points:
            self.measure(record=False)
            self.measure()
        before, before_cpu = self.points[-1], self.cpu_points[-1]
        row = make_row()
        row.reference = (before + self.measure()) / 2
        row.reference_cpu = (before_cpu + self.cpu_points[-1]) / 2
        return row


@dataclass
class Row:
    case: str
    image: str
    batch: int
    timing: Timing
    flops: float  # per call
    images_per_call: int = 1
    extra: dict = field(default_factory=dict)
    rate_s: float | None = None  # seconds per call behind GFLOP/s and images/s; default: the median
    reference: float = float("nan")  # reference conv GFLOP/s around this case
    cpu_s: float | None = None  # CPU seconds per call behind the CPU efficiency; default: the median
    reference_cpu: float = float("nan")  # reference conv GFLOP per CPU second around this case

    @property
    def seconds(self) -> float:
        return self.rate_s if self.rate_s is not None else self.timing.median

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_s if self.cpu_s is not None else statistics.median(self.timing.cpu)

    def gflops_per_s(self) -> float:
        return self.flops / self.seconds / 1e9


def print_table(title: str, rows: Sequence[Row], extra_columns: Sequence[str] = ()) -> None:
    """One markdown table (paste it into docs/performance.md as is)."""
    head = [
        "case",
        "image",
        "batch",
        "median s",
        "min s",
        "first call s",
        "GFLOP",
        "GFLOP/s",
        "ref GFLOP/s",
        "efficiency",
        "images/s",
        "CPU s",
        "CPU efficiency",
        *extra_columns,
    ]
    print(f"\n{title}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * len(head)) + "|")
    for row in rows:
        rate = row.gflops_per_s()
        cells = [
            row.case,
            row.image,
            str(row.batch),
            f"{row.timing.median:.3f}",
            f"{row.timing.best:.3f}",
            f"{row.timing.first:.2f}",
            gflops_str(row.flops),
            f"{rate:.1f}",
            f"{row.reference:.1f}",
            f"{rate / row.reference:.2f}",
            f"{row.images_per_call / row.seconds:.2f}",
            f"{row.cpu_seconds:.3f}",
            f"{row.flops / row.cpu_seconds / 1e9 / row.reference_cpu:.2f}",
            *(str(row.extra.get(c, "")) for c in extra_columns),
        ]
        print("| " + " | ".join(cells) + " |")
    print()


def header(script: str, argv: Sequence[str], precision: str, jit: bool | str) -> None:
    threads = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    print(f"# {script} {' '.join(argv)}")
    print(f"device: {device_description()}")
    print(
        f"tensorflow {tf.__version__}, keras {keras.__version__}, precision {precision}, XLA {jit}, "
        f"intra/inter-op threads {threads[0] or 'default'}/{threads[1] or 'default'}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def footer(reference: Reference) -> None:
    print(
        f"reference conv 3x3 256->256 on 1x128x128 ({reference.dtype}), GFLOP/s at each measurement: "
        f"{', '.join(f'{g:.1f}' for g in reference.points)}; GFLOP per CPU second: "
        f"{', '.join(f'{g:.1f}' for g in reference.cpu_points)}"
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def rss_gb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**30
    except OSError:
        return float("nan")

"""Scale-out through tf.distribute: one config switch picks the strategy, the training code stays the same.

`train.batch_size` is the global batch. Each replica gets `batch_size / replicas` examples and its loss, a mean
over its own examples, is divided by the number of replicas (`adain.nn.keras_compat.scale_loss`): Keras' TensorFlow optimizer
all-reduces gradients by SUM, so the applied gradient is exactly the single-device gradient of the mean over the
global batch. The optimizer's step counter is a first-replica-only variable: it counts global steps, and so does the
learning-rate schedule that reads it.

Multi-worker rules (TensorFlow's): every worker runs every step and every checkpoint save; only the chief writes to
the run directory, the others write to `workertemp_<id>` scratch directories that are removed again. All workers
restore from the chief's latest checkpoint, so the run directory must be on a filesystem every worker sees.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import tensorflow as tf

from adain.config import Config
from adain.errors import UserError

EXIT_PEER_LOST = 75  # EX_TEMPFAIL: restart me


class GaveUpRejoining(UserError):
    """A worker lost its peers more often than it may rejoin: one line, and the exit code that asks for a restart."""

    exit_code = EXIT_PEER_LOST


MAX_REJOINS = 10  # in-process restarts after a lost peer (an outage, not a bug that kills every step)
REJOIN_ENV = "ADAIN_REJOINS"

# Errors a collective op raises when a peer worker died or restarted; TensorFlow says: restart to recover.
PEER_LOST_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
    tf.errors.FailedPreconditionError,
)


@dataclass
class Distribution:
    """A strategy plus this process's role in it."""

    strategy: tf.distribute.Strategy
    kind: str  # default | mirrored | multi_worker | tpu (what `auto` resolved to)
    task_type: str | None = None
    task_id: int | None = None
    is_chief: bool = True

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def multi_worker(self) -> bool:
        return self.kind == "multi_worker"

    def describe(self) -> str:
        devices = ", ".join(self.strategy.extended.worker_devices)
        role = f"; {self.task_type} {self.task_id}{' (chief)' if self.is_chief else ''}" if self.multi_worker else ""
        return f"{self.kind} strategy, {self.replicas} replica(s) in sync [{devices}]{role}"

    def write_dir(self, directory: str | os.PathLike) -> Path:
        """Where this process writes what belongs in `directory`: the chief writes there, workers to scratch."""
        directory = Path(directory)
        if self.is_chief:
            return directory
        return directory / f"workertemp_{self.task_id}"

    @contextmanager
    def writing(self, directory: str | os.PathLike) -> Iterator[Path]:
        """Directory to write into; a worker's scratch directory is removed afterwards."""
        target = self.write_dir(directory)
        target.mkdir(parents=True, exist_ok=True)
        try:
            yield target
        finally:
            if not self.is_chief:
                shutil.rmtree(target, ignore_errors=True)

    def checkpoint_manager(self, checkpoint: tf.train.Checkpoint, directory: Path, max_to_keep: int):
        """The chief keeps `max_to_keep` checkpoints in `directory`; a worker saves (all must) and discards."""
        if self.is_chief:
            return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep)
        return ScratchCheckpointManager(checkpoint, str(self.write_dir(directory)), max_to_keep=1)

    def distribute_dataset(
        self, make_dataset: Callable[[tf.distribute.InputContext], tf.data.Dataset]
    ) -> tf.distribute.DistributedDataset | tf.data.Dataset:
        """One input pipeline per worker (host), each batched per replica; sharding is done by `make_dataset`."""
        return self.strategy.distribute_datasets_from_function(make_dataset)

    def peer_lost(self, error: Exception) -> NoReturn:
        """A peer died or restarted mid-step. TensorFlow cannot recover collectives in-process, so this worker
        restarts itself (same command line): it waits for the whole cluster, then resumes from the last checkpoint.
        """
        first_line = _first_line(error)
        rejoins = int(os.environ.get(REJOIN_ENV, "0"))
        print(f"\nlost a peer worker ({type(error).__name__}: {first_line})", file=sys.stderr)
        if rejoins >= MAX_REJOINS:
            raise GaveUpRejoining(f"gave up after {rejoins} rejoins; restart every worker to resume")
        print(
            f"{self.task_type} {self.task_id}: restarting to rejoin from the last checkpoint "
            "once every worker is up again",
            file=sys.stderr,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os.environ[REJOIN_ENV] = str(rejoins + 1)
        os.execv(sys.executable, list(sys.orig_argv))

    def check_batch_size(self, batch_size: int) -> int:
        """The global batch must split evenly over the replicas; returns the per-replica batch."""
        if batch_size % self.replicas:
            raise UserError(
                f"train.batch_size ({batch_size}) is the global batch and must be a multiple of the "
                f"{self.replicas} replicas in sync"
            )
        return batch_size // self.replicas


class ScratchCheckpointManager(tf.train.CheckpointManager):
    """A non-chief worker's manager: it takes part in every save as TensorFlow requires, then deletes the files."""

    def save(self, checkpoint_number=None, check_interval: bool = True, options=None):
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        path = super().save(checkpoint_number=checkpoint_number, check_interval=check_interval, options=options)
        shutil.rmtree(self.directory, ignore_errors=True)
        return path


def _first_line(error: Exception, limit: int = 160) -> str:
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# strategy selection


def tf_config() -> dict | None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("cluster"), dict) or "task" not in parsed:
        raise UserError('TF_CONFIG must look like {"cluster": {"worker": ["host:port", ...]}, "task": {...}}')
    unsupported = set(parsed["cluster"]) - {"chief", "worker", "evaluator"}
    if unsupported:
        raise UserError(f"TF_CONFIG: cluster jobs {sorted(unsupported)} are not supported (use chief and worker)")
    return parsed


def _cluster_size(config: dict | None) -> int:
    if config is None:
        return 0
    return sum(len(config["cluster"].get(job, [])) for job in ("chief", "worker"))


def setup_cpu_replicas(count: int) -> None:
    """Split the host CPU into `count` logical devices; must run before TensorFlow initializes its devices."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # already initialized: fine if the split is already there
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise


def resolve_kind(config: Config) -> str:
    """What `auto` means here: multi_worker under a multi-task TF_CONFIG, mirrored with >1 GPU, else default."""
    kind = config.distribute.strategy
    if kind != "auto":
        return kind
    if _cluster_size(tf_config()) > 1:
        return "multi_worker"
    if len(tf.config.list_physical_devices("GPU")) > 1 or config.distribute.cpu_replicas > 1:
        return "mirrored"
    return "default"


def make_distribution(config: Config) -> Distribution:
    """Create the configured strategy. Call first: before any TensorFlow op runs (multi_worker and cpu_replicas
    configure the runtime)."""
    kind = resolve_kind(config)
    if kind == "default":
        return Distribution(tf.distribute.get_strategy(), kind)
    if kind == "mirrored":
        devices = None
        if not tf.config.list_physical_devices("GPU"):
            count = config.distribute.cpu_replicas
            if count > 1:
                setup_cpu_replicas(count)
            devices = [f"/cpu:{i}" for i in range(count)]
        return Distribution(tf.distribute.MirroredStrategy(devices=devices), kind)
    if kind == "multi_worker":
        return _multi_worker()
    if kind == "tpu":
        return _tpu(config.distribute.tpu)
    raise AssertionError(kind)  # config validation keeps other values out


def _multi_worker() -> Distribution:
    parsed = tf_config()
    if parsed is None:
        raise UserError("distribute.strategy multi_worker needs TF_CONFIG (see README, 'Distributed training')")
    task = parsed["task"]
    task_type, task_id = task.get("type"), task.get("index", 0)
    if task_type not in ("chief", "worker"):
        raise UserError(f"TF_CONFIG: task type must be chief or worker, got {task_type!r}")
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    jobs = parsed["cluster"]
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in jobs)
    return Distribution(strategy, "multi_worker", task_type, int(task_id), is_chief)


def _tpu(address: str | None) -> Distribution:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or "")
        tf.config.experimental_connect_to_cluster(resolver)  # a no-op for "local" (TPU VM)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as exc:
        raise UserError(
            f"distribute.strategy tpu: no TPU at {address or '(environment)'}: {_first_line(exc)}"
        ) from None
    return Distribution(tf.distribute.TPUStrategy(resolver), "tpu")

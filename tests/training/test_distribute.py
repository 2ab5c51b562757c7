"""tf.distribute through train.py, as real subprocesses (logical devices and TF_CONFIG need a fresh runtime).

- MirroredStrategy over two logical CPUs with global batch 4 == one device with batch 4, step for step.
- MultiWorkerMirroredStrategy: two local workers on loopback ports; only the chief writes; a worker killed
  mid-run and restarted rejoins, and the run completes.
Plus in-process checks of input sharding, strategy choice and config errors.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import REPO, run_script, write_small_config

# One device's step is Adam: w -= lr * m_hat / (sqrt(v_hat) + eps), about lr per element whatever the gradient's size.
# Small enough that 3 Adam steps (each moves a weight by up to lr) cannot change the next gradients beyond
# float32 rounding: with the paper's 1e-4, weights whose gradient is rounding noise move by +-lr in one run and
# not the other, and by step 3 the two trajectories differ by ~4e-4 in loss (seen). m and v still accumulate the
# full gradients, so a sum-instead-of-mean over replicas would still double m.
LEARNING_RATE = 1e-7


def event_scalars(log_dir: Path, tag: str) -> dict[int, float]:
    """step -> value of a scalar tag over every event file in a log directory (a replayed step keeps its last)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = {}
    for events in sorted(log_dir.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"tensors": 0})
        accumulator.Reload()
        if tag in accumulator.Tags().get("tensors", []):
            values.update({e.step: float(tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)})
    return values


def checkpoint_steps(run_dir: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1].split(".")[0]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))


def read_checkpoint(run_dir: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in key}


def adam_state(values: dict[str, np.ndarray], index: int) -> tuple[np.ndarray, np.ndarray]:
    """Keras Adam's first and second moments of trainable variable `index` (slots interleaved m0, v0, m1, v1...)."""
    m = values[f"optimizer/_variables/{2 * index + 1}/.ATTRIBUTES/VARIABLE_VALUE"]
    v = values[f"optimizer/_variables/{2 * index + 2}/.ATTRIBUTES/VARIABLE_VALUE"]
    return m, v


def load_decoder_weights(run_dir: Path) -> list[np.ndarray]:
    import keras

    import adain.nn.layers  # noqa: F401  (registers the custom layers)

    return [w.numpy() for w in keras.saving.load_model(run_dir / "decoder.keras", compile=False).trainable_weights]


def start_train(config: Path, log: Path, *args: str, **env: str) -> subprocess.Popen:
    """train.py in the background, stdout and stderr appended to `log`."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, str(REPO / "train.py"), "--config", str(config), *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_all(processes: list[subprocess.Popen], timeout: float) -> list[int]:
    """Exit codes; whatever is still running at the deadline is killed."""
    deadline = time.time() + timeout
    try:
        return [p.wait(timeout=max(deadline - time.time(), 1)) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_mirrored_two_cpu_replicas_matches_one_device(tmp_path, shared_data):
    """Global batch 4 split 2+2 over two replicas trains exactly like batch 4 on one device.

    Tolerances come from float32 reduction order only (the sums over the batch are split in two, then all-reduced):
    - losses: rtol 1e-5 (seen: 3e-7);
    - Adam moments m, v: within 1e-5 of each variable's largest (seen: 2e-6). They are what proves the gradient is
      the global-batch mean: Adam's update is invariant to the gradient's scale, m and v are not (a sum instead of a
      mean over replicas doubles m and quadruples v);
    - decoder weights: 1e-6 absolute (seen: 2e-7; one step moves a weight by ~lr = 1e-4) wherever the gradient is
      more than rounding noise. Where it is not (RMS below 1e-9 of the variable's largest: float32 sums that
      cancel, seen ~1e-7 against ~1e5), m_hat / sqrt(v_hat) of noise can be anything in [-1, 1], so those weights
      are only bounded by the steps' total movement, 2 * steps * lr.
    """
    steps = 3
    # 16 paintings feed both streams, so the 3 x 4 images stay inside the first (seeded) epoch: the test compares
    # gradient aggregation, not how an epoch boundary reshuffles under a strategy.
    config = write_small_config(
        tmp_path / "c.yaml",
        tmp_path / "unused",
        shared_data / "style",
        shared_data / "style",
        steps=steps,
        batch_size=4,
        checkpoint_every=steps,
        log_every=1,
        image_every=100,
        learning_rate=LEARNING_RATE,
        mixed_precision="float32",  # the tolerances are float32's; "auto" trains in bfloat16 on a CPU with bf16 units
    )
    one, two = tmp_path / "one_device", tmp_path / "mirrored"
    runs = [  # two independent processes, side by side
        start_train(config, tmp_path / "one.log", "--set", f"run_dir={one}"),
        start_train(
            config,
            tmp_path / "two.log",
            "--set",
            f"run_dir={two}",
            "--set",
            "distribute.strategy=mirrored",
            "--set",
            "distribute.cpu_replicas=2",
        ),
    ]
    codes = wait_all(runs, timeout=400)
    single, mirrored = (tmp_path / "one.log").read_text(), (tmp_path / "two.log").read_text()
    assert codes == [0, 0], single[-2000:] + "\n\n" + mirrored[-2000:]
    assert "mirrored strategy, 2 replica(s) in sync" in mirrored
    assert "CPU:0" in mirrored and "CPU:1" in mirrored

    for tag in ("loss/total", "loss/content", "loss/style"):
        a, b = event_scalars(one / "logs", tag), event_scalars(two / "logs", tag)
        assert sorted(a) == sorted(b) == [1, 2, 3]
        np.testing.assert_allclose([b[s] for s in a], [a[s] for s in a], rtol=1e-5, err_msg=tag)
    # The schedule counts global steps: the same learning rate at every step.
    assert event_scalars(one / "logs", "train/learning_rate") == event_scalars(two / "logs", "train/learning_rate")

    state_one, state_two = read_checkpoint(one), read_checkpoint(two)
    assert state_one.keys() == state_two.keys()
    assert state_one["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == steps
    assert state_two["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == steps
    weights_one, weights_two = load_decoder_weights(one), load_decoder_weights(two)
    assert len(weights_one) == len(weights_two) == 18
    off = 0  # weights off by more than 1e-6: only where the gradient is rounding noise
    for index, (w1, w2) in enumerate(zip(weights_one, weights_two, strict=True)):
        m1, v1 = adam_state(state_one, index)
        m2, v2 = adam_state(state_two, index)
        assert m1.shape == v1.shape == w1.shape == w2.shape and (v1 >= 0).all() and (v2 >= 0).all()
        # 1e-3 of the largest: seen 2e-4 on the paintings (float32 sums of ~1e6 gradients over split batches);
        # what this must catch, a sum instead of a mean over the 2 replicas, is a factor 2 in m and 4 in v.
        np.testing.assert_allclose(m2, m1, rtol=0, atol=1e-3 * np.abs(m1).max(), err_msg=f"Adam m, variable {index}")
        np.testing.assert_allclose(v2, v1, rtol=0, atol=1e-3 * np.abs(v1).max(), err_msg=f"Adam v, variable {index}")
        rms = np.sqrt(np.maximum(v1, v2))
        signal_ = rms >= 1e-9 * rms.max()
        np.testing.assert_allclose(w2[signal_], w1[signal_], rtol=0, atol=1e-6, err_msg=f"decoder weight {index}")
        assert np.abs(w2 - w1).max() <= 2 * steps * LEARNING_RATE
        off += int((np.abs(w2 - w1) > 1e-6).sum())
    assert off <= 1e-4 * sum(w.size for w in weights_one)  # seen: 18 of 3.5 million


# ---------------------------------------------------------------------------
# multi-worker


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    )


def start_worker(config: Path, ports: list[int], index: int, log: Path) -> subprocess.Popen:
    """What the README tells each host to run, with TF_CONFIG naming this worker."""
    return start_train(config, log, "--set", "distribute.strategy=multi_worker", TF_CONFIG=tf_config(ports, index))


def multi_worker_config(tmp_path: Path, shared_data: Path, **train) -> tuple[Path, Path]:
    # One style image for two workers: the style stream must fall back to sharding by data (with a warning),
    # the 8 content photos are split by file.
    style = tmp_path / "one_style"
    style.mkdir()
    (style / "style.jpg").symlink_to(sorted((shared_data / "style").glob("*.jpg"))[0])
    run_dir = tmp_path / "run"
    return write_small_config(tmp_path / "c.yaml", run_dir, shared_data / "content", style, **train), run_dir


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tmp_path, shared_data):
    config, run_dir = multi_worker_config(
        tmp_path, shared_data, steps=5, batch_size=2, checkpoint_every=5, log_every=1, image_every=100
    )
    ports = free_ports(2)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [start_worker(config, ports, i, logs[i]) for i in range(2)]
    codes = wait_all(workers, timeout=400)
    output = [log.read_text() for log in logs]
    assert codes == [0, 0], "\n\n".join(o[-2000:] for o in output)
    assert "worker 0 (chief)" in output[0] and "2 replica(s) in sync" in output[0]
    assert "worker 1" in output[1] and "(chief)" not in output[1]
    for o in output:
        assert "warning: data.style: 1 file(s) for 2 workers; sharding by data" in o
        assert "warning: data.content" not in o  # 8 files: split by file, no warning
        assert "done: step 5" in o

    # One checkpoint (every 5 steps, 5 steps), in the chief's directory; no worker scratch left anywhere.
    assert checkpoint_steps(run_dir) == [5]
    assert not list(run_dir.rglob("workertemp_*"))
    # .lock: the chief's run-directory lock (adain.run_lock)
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "checkpoints", "config.yaml", "decoder.keras", "logs"]
    # TensorBoard is the chief's: every event file was written by its process (the pid is in the file name).
    events = list((run_dir / "logs").glob("events.out.tfevents.*"))
    assert events and all(f".{workers[0].pid}." in e.name for e in events)
    assert sorted(event_scalars(run_dir / "logs", "loss/total")) == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_killed_worker_restarts_and_the_run_completes(tmp_path, shared_data):
    config, run_dir = multi_worker_config(
        tmp_path, shared_data, steps=5, batch_size=2, checkpoint_every=1, log_every=1, image_every=100
    )
    ports = free_ports(2)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    chief, worker = (start_worker(config, ports, i, logs[i]) for i in range(2))
    try:
        deadline = time.time() + 300
        while time.time() < deadline and 3 not in checkpoint_steps(run_dir):
            assert chief.poll() is None and worker.poll() is None, logs[0].read_text()[-2000:]
            time.sleep(0.1)
        assert 3 in checkpoint_steps(run_dir), "no checkpoint at step 3"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert 5 not in checkpoint_steps(run_dir), "the run finished before the kill"

    restarted = start_worker(config, ports, 1, logs[1])
    codes = wait_all([chief, restarted], timeout=400)
    output = [log.read_text() for log in logs]
    assert codes == [0, 0], "\n\n".join(o[-3000:] for o in output)
    # The chief saw its peer go, restarted itself (same pid), and both resumed from the chief's checkpoint: step 3,
    # or 4 if worker 1 had done its part of step 4 before it died.
    assert "lost a peer worker" in output[0] and "worker 0: restarting to rejoin" in output[0]
    for o in output:
        resumed = [int(line.rsplit(" ", 1)[1]) for line in o.splitlines() if line.startswith("resuming from")]
        assert resumed and resumed[-1] in (3, 4), o[-2000:]
        assert "done: step 5" in o
    assert checkpoint_steps(run_dir)[-1] == 5
    assert not list(run_dir.rglob("workertemp_*"))
    assert sorted(event_scalars(run_dir / "logs", "loss/total")) == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------------------
# in-process: sharding, strategy choice, config errors


def test_input_sharding_by_files_and_by_data(shared_data, capsys):
    import tensorflow as tf

    from adain.config import SourceConfig
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import FolderImages, random_crops
    from adain.data.sharding import PIPELINE_SEED_STRIDE, shard_files

    def crops(paths, seed, count, shard=None):
        images = FolderImages(SourceConfig(path=str(shared_data / "style")), "data.style")
        images.paths = images.names = [str(p) for p in paths]
        stream = random_crops(images, 48, 32, seed, SkippedFiles(verbose=False), shard=shard)
        return [c.numpy() for c in stream.take(count)]

    contexts = [tf.distribute.InputContext(2, i, 2) for i in range(2)]
    files = list(range(8))
    shards = [shard_files(files, c, seed=7, what="data.content") for c in contexts]
    assert sorted(shards[0][0] + shards[1][0]) == files and not set(shards[0][0]) & set(shards[1][0])
    assert [s[1] for s in shards] == [7, 7 + PIPELINE_SEED_STRIDE]  # each worker its own shuffle
    assert [s[2] for s in shards] == [None, None]
    assert shard_files(files, None, seed=7, what="x") == (files, 7, None)
    assert capsys.readouterr().err == ""

    # Too few files: every worker reads them all, in the same order, and keeps every other element.
    paths = sorted((shared_data / "style").glob("*.jpg"))[:1]
    per_worker = []
    for context in contexts:
        kept, seed, shard = shard_files(paths, context, seed=7, what="data.style")
        assert kept == paths and seed == 7 and shard == (2, context.input_pipeline_id)
        per_worker.append(crops(kept, seed, 3, shard))
    assert "data.style: 1 file(s) for 2 workers; sharding by data" in capsys.readouterr().err
    whole = crops(paths, 7, 6)
    for i in range(6):  # worker i % 2 sees element i of the single stream: disjoint, nothing skipped
        np.testing.assert_array_equal(per_worker[i % 2][i // 2], whole[i])
    assert not np.array_equal(whole[0], whole[1])


def test_auto_strategy_and_tf_config_errors(tmp_path, monkeypatch, shared_data):
    from adain.config import from_dict
    from adain.errors import UserError
    from adain.training.distribute import make_distribution, resolve_kind

    def config(**distribute):
        data = {"content": {"path": str(shared_data / "content")}, "style": {"path": str(shared_data / "style")}}
        return from_dict({"run_dir": str(tmp_path), "data": data, "distribute": distribute})

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert resolve_kind(config()) == "default"  # no GPU here
    assert resolve_kind(config(cpu_replicas=2)) == "mirrored"
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 0))
    assert resolve_kind(config()) == "multi_worker"
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UserError, match="TF_CONFIG is not valid JSON"):
        make_distribution(config(strategy="multi_worker"))
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, "task": {}}))
    with pytest.raises(UserError, match=r"jobs \['ps'\] are not supported"):
        make_distribution(config(strategy="multi_worker"))
    monkeypatch.delenv("TF_CONFIG")
    with pytest.raises(UserError, match="needs TF_CONFIG"):
        make_distribution(config(strategy="multi_worker"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["distribute.strategy=horovod"],
            "config: distribute.strategy must be one of auto, default, mirrored, multi_worker, tpu, got 'horovod'",
        ),
        (["distribute.tpu=local"], "config: distribute.tpu is only used with distribute.strategy: tpu (got 'auto')"),
        (["distribute.cpu_replicas=0"], "config: distribute.cpu_replicas must be > 0, got 0"),
        (
            ["distribute.cpu_replicas=2", "train.batch_size=3"],
            "train.batch_size (3) is the global batch and must be a multiple of the 2 replicas in sync",
        ),
    ],
)
def test_bad_distribute_settings_are_one_line_errors(overrides, message):
    sets = [arg for override in overrides for arg in ("--set", override)]
    result = run_script("train.py", "--config", str(REPO / "configs" / "demo.yaml"), *sets)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {message}"
    assert "Traceback" not in result.stderr

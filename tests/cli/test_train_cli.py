"""train.py as a real subprocess on the shared images: checkpoints, TensorBoard, resume, kill -9."""

import signal
import subprocess
import sys
import time

import pytest
from support import REPO, event_steps, run_script, write_small_config


def checkpoint_steps(run_dir):
    return sorted(int(p.name.split("-")[1].split(".")[0]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))


@pytest.mark.slow
def test_train_writes_checkpoints_and_scalars_then_resumes(tmp_path, shared_data):
    run_dir = tmp_path / "run"
    config = write_small_config(tmp_path / "c.yaml", run_dir, shared_data / "content", shared_data / "style", steps=4)
    first = run_script("train.py", "--config", str(config), "--set", "model.decoder_init=encoder_transpose")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "decoder: initialised as the encoder's transpose" in first.stderr
    assert checkpoint_steps(run_dir)[-1] == 4
    assert (run_dir / "decoder.keras").is_file() and (run_dir / "config.yaml").is_file()
    assert event_steps(run_dir / "logs", "loss/total") == [1, 2, 3, 4]
    assert event_steps(run_dir / "logs", "train/learning_rate") == [1, 2, 3, 4]
    # stderr is a pipe, not a terminal: plain progress lines instead of a carriage-return bar
    assert "train: step 4/4" in first.stderr and "\r" not in first.stderr

    second = run_script("train.py", "--config", str(config), "--set", "train.steps=7")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming" in second.stderr and "step 4" in second.stderr
    assert "initialised" not in second.stderr  # a resumed run keeps its trained decoder
    assert "train: step 7/7" in second.stderr and "train: step 4/" not in second.stderr
    steps = event_steps(run_dir / "logs", "loss/total")
    assert steps == [1, 2, 3, 4, 5, 6, 7]  # continued the same curve, no restart at 1
    assert checkpoint_steps(run_dir)[-1] == 7


@pytest.mark.slow
def test_sigkill_mid_training_resumes_cleanly(tmp_path, shared_data):
    run_dir = tmp_path / "run"
    config = write_small_config(
        tmp_path / "c.yaml", run_dir, shared_data / "content", shared_data / "style", steps=400, checkpoint_every=1
    )
    env_cmd = [sys.executable, str(REPO / "train.py"), "--config", str(config)]
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(env_cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and len(checkpoint_steps(run_dir)) < 3:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    saved = checkpoint_steps(run_dir)
    assert saved, "no checkpoint was written before the kill"
    resumed = run_script("train.py", "--config", str(config), "--set", f"train.steps={saved[-1] + 2}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stderr
    assert checkpoint_steps(run_dir)[-1] == saved[-1] + 2


@pytest.mark.slow
def test_bad_config_exits_2_with_one_line(tmp_path):
    result = run_script("train.py", "--config", str(REPO / "configs" / "demo.yaml"), "--set", "train.batch_size=-1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: config: train.batch_size must be > 0, got -1"]
    missing = run_script("train.py", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith("error: config file not found")

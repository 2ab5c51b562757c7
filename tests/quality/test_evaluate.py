"""Evaluation: training improves the paper's metrics; the same evaluation runs during training."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import yaml
from PIL import Image
from support import REPO, event_steps, run_script, write_small_config

STEPS = 100
EVAL_IMAGES = 2  # the first 2 contents and 2 styles: trained on, then evaluated on


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
    """adain evaluate as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "adain", "evaluate", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data):
    """A short training (64 px, 100 steps) on a few shared images, evaluated every 50 steps; its untrained decoder."""
    folder = tmp_path_factory.mktemp("evaluate")
    for kind in ("content", "style"):
        (folder / kind).mkdir()
        for path in sorted((shared_data / kind).iterdir())[:EVAL_IMAGES]:
            (folder / kind / path.name).write_bytes(path.read_bytes())
    config_file = write_small_config(
        folder / "c.yaml",
        folder / "run",
        folder / "content",
        folder / "style",
        steps=STEPS,
        learning_rate=1e-3,
        checkpoint_every=STEPS,
        eval_every=50,
    )
    config = yaml.safe_load(config_file.read_text())
    config["data"].update(load_size=64, crop_size=64)
    config["eval"] = {"content": str(folder / "content"), "style": str(folder / "style"), "size": 64}
    config_file.write_text(yaml.safe_dump(config))

    from adain.config import load_config
    from adain.training.loop import build_model

    keras.utils.set_random_seed(0)  # what train.py does first: the decoder it starts from
    build_model(load_config(config_file)).decoder.save(folder / "untrained.keras")
    result = run_script("train.py", "--config", str(config_file))
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


@pytest.mark.slow
def test_training_scores_better_than_the_untrained_decoder(runs):
    report_dir = runs / "report"
    result = run_evaluate(
        "--checkpoint",
        str(runs / "untrained.keras"),
        "--checkpoint",
        str(runs / "run"),
        "--content",
        str(runs / "content"),
        "--style",
        str(runs / "style" / "*.jpg"),
        "--output",
        str(report_dir),
        "--size",
        "64",
        "--style-size",
        "64",
        "--gatys",
        "--gatys-iterations",
        "3",
        "--color-match",
        "0",  # the decoders themselves: the colour match would recolour the untrained one's output too
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((report_dir / "report.json").read_text())
    untrained, trained = report["methods"]["untrained"], report["methods"]["run"]
    for key in ("content_loss", "style_loss"):
        assert trained["mean"][key] < untrained["mean"][key], key
    assert trained["mean"]["none_features"]["style_loss"] < untrained["mean"]["none_features"]["style_loss"]
    # Means are the means of the pairs; every pair is scored and written.
    assert len(trained["pairs"]) == 4
    assert trained["mean"]["style_loss"] == pytest.approx(np.mean([p["style_loss"] for p in trained["pairs"]]))
    pair = trained["pairs"][0]
    assert pair["style_loss"] == pytest.approx(sum(pair["style_layers"].values()))
    assert (report_dir / "run" / f"{pair['content']}_stylized_{pair['style']}.jpg").is_file()
    # Gatys on the same pairs, with its time, and a sheet per method (inputs on the edges: 3 x 3 cells).
    assert report["methods"]["gatys"]["seconds_per_pair"] > 0 and len(report["methods"]["gatys"]["pairs"]) == 4
    for label in ("untrained", "run", "gatys"):
        width, height = Image.open(report_dir / f"sheet_{label}.jpg").size
        assert width == height > 3 * 192
    assert "| run |" in (report_dir / "report.md").read_text()
    assert report["metric"]["features"].startswith("VGG-19, per_channel")


@pytest.mark.slow
def test_training_logs_held_out_evaluation(runs):
    logs = runs / "run" / "logs"
    for tag in ("eval/content_loss", "eval/style_loss", "eval/content_loss_vs_content", "eval/sheet"):
        assert event_steps(logs, tag) == [0, 50, 100], tag


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        ([], "default checkpoint not found"),  # no --checkpoint: the shipped model, here absent ($ADAIN_CHECKPOINT)
        (["--checkpoint", "/no/such/run"], "checkpoint not found"),
    ],
)
def test_bad_input_exits_2(shared_data, tmp_path, args, message, monkeypatch):
    monkeypatch.setenv("ADAIN_CHECKPOINT", str(tmp_path / "no_shipped_model"))
    result = run_evaluate(
        "--content",
        str(shared_data / "content"),
        "--style",
        str(shared_data / "style"),
        "--output",
        str(tmp_path / "r"),
        *args,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_other_layers_and_tv_train_stylize_and_evaluate_on_the_fixed_metric(shared_data, tmp_path):
    """A relu3_1 decoder with two style layers and TV: trains, stylizes, and scores on the same relu1..4_1 metric."""
    config = write_small_config(
        tmp_path / "c.yaml", tmp_path / "run", shared_data / "content", shared_data / "style", steps=2, tv_weight=1e-3
    )
    overrides = [
        "--set",
        "model.content_layer=block3_conv1",
        "--set",
        "model.style_layers=[block1_conv1, block2_conv1]",
    ]
    result = run_script("train.py", "--config", str(config), *overrides)
    assert result.returncode == 0, result.stderr[-2000:]
    assert event_steps(tmp_path / "run" / "logs", "loss/tv") == [1, 2]
    report = tmp_path / "report"
    result = run_evaluate(
        "--checkpoint",
        str(tmp_path / "run"),
        "--content",
        str(shared_data / "content" / "cornell.jpg"),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--output",
        str(report),
        "--size",
        "37",
        "--style-size",
        "40",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    pair = json.loads((report / "report.json").read_text())["methods"]["run"]["pairs"][0]
    assert list(pair["style_layers"]) == ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"]
    written = Image.open(report / "run" / "cornell_stylized_mondrian.jpg")
    assert min(written.size) == 37

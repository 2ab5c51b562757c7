"""The colour work's tools as a user runs them: the corpus split, the decoder snapshot, the output-range probe."""

import subprocess
import sys

import pytest
from PIL import Image
from support import REPO, command_env


def run_tool(*args, timeout=600):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=REPO, env=command_env(), capture_output=True, text=True, timeout=timeout
    )


def make_corpus(folder, shared_data):
    """A small corpus: the shared photos and paintings, plus one flat saturated painting (a poster)."""
    from adain.data.synthetic import flat_poster

    for kind, source in (("content", "content"), ("style", "style")):
        (folder / kind).mkdir(parents=True)
        for path in sorted((shared_data / source).glob("*.jpg"))[:8]:
            (folder / kind / path.name).symlink_to(path)
    for seed in (1, 2):
        Image.fromarray(flat_poster(128, seed)).save(folder / "style" / f"poster_like_{seed}.png")
    (folder / "DOUBTFUL.txt").write_text("style/poster_like_2.png\tmade up\n")


@pytest.mark.slow
def test_corpus_split_holds_out_every_kind_and_sets_a_stress_set_aside(tmp_path, shared_data):
    make_corpus(tmp_path / "corpus", shared_data)
    out = tmp_path / "split"
    result = run_tool(
        REPO / "tools" / "corpus_split.py", "--corpus", tmp_path / "corpus", "--out", out, "--held-out", "2"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    parts = {
        part: {p.name for p in (out / part / "style").rglob("*") if p.is_file()}
        for part in ("train", "heldout", "stress")
    }
    assert "poster_like_1.png" in parts["heldout"] | parts["stress"]  # the flat saturated one is never trained on
    assert "poster_like_2.png" in parts["train"]  # doubtful: trained on, never shown
    assert not parts["train"] & (parts["heldout"] | parts["stress"])
    assert len([n for n in parts["train"] if n.startswith("poster_0")]) == 48  # the synthetic training posters
    assert len([n for n in parts["stress"] if n.startswith("poster_1")]) == 6
    kinds = (out / "kinds.tsv").read_text()
    assert "style/poster_like_1.png\tflat_saturated" in kinds


@pytest.mark.slow
def test_ship_decoder_snapshots_a_runs_newest_checkpoint(tmp_path, tiny_run, shared_data):
    out = tmp_path / "snapshot"
    result = run_tool(REPO / "tools" / "ship_decoder.py", "--run", tiny_run, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "step.txt").read_text().strip() == "2"
    probe = run_tool(
        REPO / "tools" / "output_range.py",
        "--checkpoint",
        out,
        "--content",
        sorted((shared_data / "content").iterdir())[0],
        "--style",
        sorted((shared_data / "style").glob("*.jpg"))[0],
        "--size",
        "64",
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    row = probe.stdout.strip().splitlines()[-1].split("|")
    assert row[3].strip() == "64" and row[4].strip().endswith("%") and float(row[7]) >= 0


@pytest.mark.slow
def test_ship_decoder_averages_the_newest_checkpoint_with_other_snapshots(tmp_path, tiny_run):
    import numpy as np

    from adain.run import load_decoder, run_model_config, save_decoder

    plain = tmp_path / "plain"
    assert run_tool(REPO / "tools" / "ship_decoder.py", "--run", tiny_run, "--out", plain).returncode == 0
    decoder = load_decoder(plain)
    weights = decoder.get_weights()
    decoder.set_weights([3.0 * w for w in weights])  # another point of the run: every weight tripled
    other = tmp_path / "other"
    other.mkdir()
    save_decoder(decoder, other, run_model_config(plain))
    (other / "config.yaml").write_text((plain / "config.yaml").read_text())

    out = tmp_path / "mean"
    result = run_tool(REPO / "tools" / "ship_decoder.py", "--run", tiny_run, "--out", out, "--average-with", other)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "step.txt").read_text().splitlines() == ["2", f"averaged with {other}"]
    for mean, w in zip(load_decoder(out).get_weights(), weights, strict=True):
        np.testing.assert_allclose(mean, 2.0 * w, rtol=1e-6, atol=1e-7)  # (w + 3w) / 2


@pytest.mark.slow
def test_ship_decoder_refuses_to_average_a_decoder_of_another_architecture(tmp_path, tiny_run):
    """A relu3_1 decoder beside the run's relu4_1 one: one line naming it, exit 2, nothing written."""
    import yaml

    from adain.config import from_dict, save_config
    from adain.run import build_configured_decoder, save_decoder

    plain = tmp_path / "plain"
    assert run_tool(REPO / "tools" / "ship_decoder.py", "--run", tiny_run, "--out", plain).returncode == 0
    config = from_dict(yaml.safe_load((plain / "config.yaml").read_text()))
    config.model.content_layer = "block3_conv1"
    config.model.style_layers = ["block1_conv1", "block2_conv1", "block3_conv1"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    save_decoder(build_configured_decoder(config.model), foreign, config.model)
    save_config(config, foreign / "config.yaml")
    refused = tmp_path / "refused"
    result = run_tool(
        REPO / "tools" / "ship_decoder.py", "--run", tiny_run, "--out", refused, "--average-with", foreign
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr  # TensorFlow's start-up logs come first; the error is the last line
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {foreign} is a decoder of another architecture than {tiny_run}'s"
    )
    assert not refused.exists()

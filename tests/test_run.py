"""The run directory (adain.run): a run saved before the package restructure still loads, trains on and stylizes."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import yaml
from PIL import Image
from support import FIXTURES

from adain.config import from_dict
from adain.errors import UserError
from adain.inference.stylizer import Stylizer
from adain.run import (
    DECODER_FILE,
    latest_checkpoint,
    load_decoder,
    make_checkpoint,
    read_run_config,
    run_model_config,
)

LEGACY = FIXTURES / "legacy_run"
LEGACY_PICTURE = FIXTURES / "legacy_run_sailboat_mondrian_64.png"


def legacy_picture_of(stylizer: Stylizer, shared_data) -> np.ndarray:
    content, style = shared_data / "content" / "sailboat.jpg", shared_data / "style" / "mondrian.jpg"
    # the decoder's own picture: the stored one predates the colour match (adain.inference.color)
    return stylizer.stylize(content, style, content_size=64, style_size=64, color_match=0.0).astype(np.int64)


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    return np.asarray(Image.open(LEGACY_PICTURE)).astype(np.int64)


def test_run_config_is_read_from_the_directory_or_beside_its_decoder_file():
    model = run_model_config(LEGACY)
    assert (model.vgg_normalization, model.content_layer) == ("per_channel", "block2_conv1")
    assert run_model_config(LEGACY / DECODER_FILE) == model
    assert read_run_config(LEGACY)["train"]["steps"] == 2


def test_a_decoder_saved_before_the_restructure_draws_the_same_picture(shared_data, expected):
    decoder = load_decoder(LEGACY)
    assert [layer.name for layer in decoder.layers] == ["feature_scale", "conv1", "up1", "conv2", "conv3"]
    assert np.abs(legacy_picture_of(Stylizer.from_checkpoint(LEGACY), shared_data) - expected).max() <= 1


def test_from_checkpoint_on_a_decoder_file_uses_its_runs_config(shared_data, expected):
    """A per_channel block2_conv1 decoder needs that encoder: the default one (relu4_1, unnormalised) would not fit."""
    stylizer = Stylizer.from_checkpoint(LEGACY / DECODER_FILE)
    assert stylizer.model.encoder.outputs[-1].shape[-1] == 128  # relu2_1
    assert np.abs(legacy_picture_of(stylizer, shared_data) - expected).max() <= 1


def test_a_checkpoint_saved_before_the_restructure_resumes_and_decodes(tmp_path, shared_data):
    from adain.training.loop import build_model

    saved = read_run_config(LEGACY)
    saved["run_dir"] = str(tmp_path / "run")
    for name in ("content", "style"):
        saved["data"][name]["path"] = str(shared_data / name)
    model = build_model(from_dict(saved))
    make_checkpoint(model.decoder, model.optimizer).restore(latest_checkpoint(LEGACY)).assert_existing_objects_matched()
    assert int(model.optimizer.iterations.numpy()) == 2

    only_checkpoint = tmp_path / "only_checkpoint"
    shutil.copytree(LEGACY, only_checkpoint)
    (only_checkpoint / DECODER_FILE).unlink()
    restored, final = load_decoder(only_checkpoint), load_decoder(LEGACY)
    for a, b in zip(restored.get_weights(), final.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.decoder.get_weights(), final.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_decoder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no trained decoder"):
        load_decoder(tmp_path)
    with pytest.raises(UserError, match="checkpoint not found"):
        load_decoder(tmp_path / "missing")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"model": {"vgg_normalization": "batch"}}))
    with pytest.raises(UserError, match="vgg_normalization"):
        run_model_config(tmp_path)


@pytest.mark.parametrize("damage", ["binary", "directory", "list"])
def test_an_unreadable_run_config_is_a_user_error_naming_it(tmp_path, damage):
    config = tmp_path / "config.yaml"
    if damage == "binary":
        config.write_bytes(bytes(range(256)) * 4)
    elif damage == "directory":  # not silently "no config" (the default model would be the wrong one)
        config.mkdir()
    else:
        config.write_text("- model\n- train\n")
    with pytest.raises(UserError, match=str(config)):
        read_run_config(tmp_path)


@pytest.mark.parametrize("entry", ["checkpoints", "logs", "decoder.keras", "config.yaml"])
def test_a_run_dir_entry_of_the_wrong_kind_is_a_user_error(tmp_path, entry):
    """Before: `checkpoints` as a file was a FailedPreconditionError traceback from the CheckpointManager."""
    from adain.run import check_layout

    path = tmp_path / entry
    path.mkdir() if "." in entry else path.write_text("x")
    with pytest.raises(UserError, match=f"{path} should be a"):
        check_layout(tmp_path)
    with pytest.raises(UserError, match=f"{path} should be a"):
        load_decoder(tmp_path)


def test_what_a_killed_writer_leaves_is_removed_by_the_next_write(tmp_path):
    """SIGKILL leaves an atomic write's temporary (a decoder.keras, an image, a video, a SavedModel folder) behind;
    the next atomic write into that folder removes it. A live writer's and anything not ours are kept."""
    import subprocess
    import sys

    from adain.media.files import atomic_path

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    left = [tmp_path / f".decoder.keras.partial-{dead_pid}-abc.keras", tmp_path / f".out.jpg.partial-{dead_pid}-x.jpg"]
    left[0].write_bytes(b"half a decoder")
    left[1].write_bytes(b"half an image")
    (tmp_path / f".model.partial-{dead_pid}-q").mkdir()
    (tmp_path / f".model.partial-{dead_pid}-q" / "saved_model.pb").write_bytes(b"half")
    live = tmp_path / f".other.jpg.partial-{os.getpid()}-y.jpg"
    live.write_bytes(b"being written")
    mine = tmp_path / ".notes.partial-draft"
    mine.write_text("the user's")
    with atomic_path(tmp_path / "config.yaml") as tmp:
        tmp.write_text("a: 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["config.yaml", live.name, mine.name])

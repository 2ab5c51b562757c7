"""Config: typed, validated, overridable; bad input is a one-line UserError."""

import pytest
from support import REPO

from adain.config import Config, load_config
from adain.errors import UserError


def test_shipped_configs_parse():
    demo = load_config(REPO / "configs" / "demo.yaml")
    assert demo.data.content.demo == "photos"
    assert demo.train.init_from == "checkpoints/adain-corpus"  # the demo fine-tunes the shipped model
    base_text = (REPO / "configs" / "base.yaml").read_text()
    assert "coco/2017" in base_text


def test_corpus_config_is_the_measured_long_run(tmp_path):
    paths = [
        f"data.content.path={tmp_path}",
        f"data.style.path={tmp_path}",
        f"eval.content={tmp_path}",
        f"eval.style={tmp_path}",
    ]
    config = load_config(REPO / "configs" / "corpus.yaml", paths)
    assert (config.data.load_size, config.data.crop_size, config.data.min_load_size) == (512, 256, None)
    assert (config.data.style_recolor, config.train.output_range_weight, config.train.streak_weight) == (0, 0, 0)
    assert config.train.style_weight == 3.0 and config.model.vgg_normalization == "per_channel"


def test_base_config_is_the_papers_setup(tmp_path):
    config = load_config(REPO / "configs" / "base.yaml", [f"data.style.path={tmp_path}"])
    assert (config.data.load_size, config.data.crop_size) == (512, 256)
    assert (config.train.batch_size, config.train.steps) == (8, 160_000)
    assert (config.train.learning_rate, config.train.lr_decay, config.train.style_weight) == (1e-4, 5e-5, 10.0)


def test_overrides_are_yaml_typed(tmp_path):
    config = load_config(REPO / "configs" / "demo.yaml", ["train.steps=20", "data.crop_size=64", f"run_dir={tmp_path}"])
    assert config.train.steps == 20 and isinstance(config.train.steps, int)
    assert config.data.crop_size == 64
    assert isinstance(Config().train.learning_rate, float)
    # YAML 1.1 reads "5e-4" (no dot) as a string; a float field still accepts it.
    assert load_config(REPO / "configs" / "demo.yaml", ["train.learning_rate=5e-4"]).train.learning_rate == 5e-4


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.stepz=3", "unknown key 'train.stepz'"),
        ("train.steps=abc", "train.steps must be an integer"),
        ("train.steps=0", "train.steps must be > 0"),
        ("data.style.demo=null;data.style.path=/no/such/folder", "folder not found"),
        ("data.crop_size=1024", "must not exceed"),
        ("model.vgg_weights=/no/file.h5", "file not found"),
        ("data.content.source=s3", "must be 'folder' or 'tfds'"),
        ("model.decoder_init=zeros", "decoder_init must be one of random, encoder_transpose"),
        ("train", "expects key=value"),
        ("seed=-1", r"seed must be in \[0, 2\*\*32 - 1\]"),  # was a ValueError traceback after the model build
        ("seed=99999999999999999999", "seed must be in"),
        ("run_dir=''", "run_dir must name a folder"),  # was: train into the current directory
    ],
)
def test_bad_values_are_one_line_errors(override, message):
    with pytest.raises(UserError, match=message) as info:
        load_config(REPO / "configs" / "demo.yaml", override.split(";"))
    assert "\n" not in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)


def test_a_config_that_is_not_text_is_one_line(tmp_path):
    binary = tmp_path / "photo.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match=r"photo\.yaml: cannot be read \(not a UTF-8 text file\)"):
        load_config(binary)


def test_paths_of_the_wrong_kind_say_so(tmp_path):
    with pytest.raises(UserError, match=f"config file {tmp_path} is a folder, not a YAML file"):
        load_config(tmp_path)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8")
    with pytest.raises(UserError, match=f"data.style.path: {photo} is a file, not a folder of images"):
        load_config(REPO / "configs" / "demo.yaml", ["data.style.demo=null", f"data.style.path={photo}"])


def test_a_resume_takes_only_the_changes_set_on_the_command_line(tmp_path):
    from adain.config import resume_config

    saved = load_config(REPO / "configs" / "demo.yaml", [f"run_dir={tmp_path}"])
    edited = load_config(
        REPO / "configs" / "demo.yaml",
        [f"run_dir={tmp_path / 'elsewhere'}", "train.batch_size=3", "data.crop_size=96", "train.steps=99"],
    )
    config, taken, refused = resume_config(saved, edited, ["train.steps", "data"])
    assert taken == {"data.crop_size": (saved.data.crop_size, 96), "train.steps": (saved.train.steps, 99)}
    assert refused == {"train.batch_size": (saved.train.batch_size, 3)}  # run_dir is where the run is: no change
    assert (config.train.batch_size, config.data.crop_size, config.train.steps) == (saved.train.batch_size, 96, 99)
    assert resume_config(saved, saved, []) == (saved, {}, {})

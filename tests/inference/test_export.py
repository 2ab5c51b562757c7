"""adain export: SavedModel and TFLite, reloaded in a fresh process, against the Keras model's pixels."""

import os
import subprocess
import sys

import numpy as np
import pytest
from support import REPO

from adain.inference.stylizer import Stylizer

RELOAD = """
import sys, numpy as np, tensorflow as tf
inputs = np.load(sys.argv[1])
content, batch, style, alpha = inputs["content"], inputs["batch"], inputs["style"], np.float32(inputs["alpha"])
serve = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
results = {
    "saved_model": serve(content=tf.constant(content), style=tf.constant(style), alpha=tf.constant(alpha))["stylized"],
    "saved_model_batch": serve(content=tf.constant(batch), style=tf.constant(style[None]),
                               alpha=tf.constant(alpha))["stylized"],
}
for name, path in (("tflite", sys.argv[3]), ("tflite_float16", sys.argv[4])):
    runner = tf.lite.Interpreter(model_path=path).get_signature_runner("serving_default")
    results[name] = runner(content=content, style=style, alpha=alpha)["stylized"]
np.savez(sys.argv[5], **{k: np.asarray(v) for k, v in results.items()})
"""


def run_export(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "adain", "export", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def export(run, fmt, output, *extra):
    result = run_export("--checkpoint", str(run), "--format", fmt, "--output", str(output), *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return {
        "saved_model": export(tiny_run, "saved_model", folder / "adain" / "1"),
        "tflite": export(tiny_run, "tflite", folder / "adain.tflite"),
        "tflite_float16": export(tiny_run, "tflite", folder / "adain16.tflite", "--float16"),
    }


@pytest.mark.slow
def test_exports_reloaded_in_a_fresh_process_give_the_keras_pixels(tiny_run, shared_data, exported, tmp_path):
    stylizer = Stylizer.from_checkpoint(tiny_run)
    content = stylizer.prepare(shared_data / "content" / "cornell.jpg", 61).numpy().round().astype(np.uint8)
    other = stylizer.prepare(shared_data / "content" / "chicago.jpg", 61, crop=True).numpy()
    batch = np.stack([content[:, :61], other.round().astype(np.uint8)])
    style = stylizer.prepare(shared_data / "style" / "mondrian.jpg", 70).numpy().round().astype(np.uint8)
    alpha = 0.8
    np.savez(tmp_path / "inputs.npz", content=content, batch=batch, style=style, alpha=alpha)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            RELOAD,
            str(tmp_path / "inputs.npz"),
            str(exported["saved_model"]),
            str(exported["tflite"]),
            str(exported["tflite_float16"]),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    served = np.load(tmp_path / "out.npz")

    kwargs = {"alpha": alpha, "color_match": 0.0}  # the exported graphs give the network's own colours
    expected = stylizer.stylize(content, style, **kwargs).astype(int)
    expected_batch = np.stack([stylizer.stylize(image, style, **kwargs) for image in batch]).astype(int)
    assert served["saved_model"].dtype == np.uint8 and served["saved_model"].shape == content.shape  # 61 x 87
    assert served["saved_model_batch"].shape == batch.shape
    diffs = {
        name: int(np.abs(served[name].astype(int) - expected).max())
        for name in ("saved_model", "tflite", "tflite_float16")
    }
    diffs["saved_model_batch"] = int(np.abs(served["saved_model_batch"].astype(int) - expected_batch).max())
    print(f"max |exported - keras| on 0..255: {diffs}")
    assert diffs["saved_model"] <= 1 and diffs["saved_model_batch"] <= 1, diffs
    assert diffs["tflite"] <= 1, diffs  # float32 TFLite: the same arithmetic, another kernel library
    assert diffs["tflite_float16"] <= 8, diffs  # weights rounded to float16


@pytest.mark.slow
def test_exports_carry_the_marker_that_lets_the_next_export_replace_them(exported, tmp_path):
    from adain.cli.export import check_output
    from adain.errors import UserError
    from adain.inference.marker import is_own_export

    assert is_own_export(exported["saved_model"], directory=True)
    assert (exported["saved_model"] / ".adain-export.json").is_file()
    for name in ("tflite", "tflite_float16"):
        assert is_own_export(exported[name], directory=False)
        check_output(exported[name], "tflite")  # an earlier export: replaced without --overwrite
    check_output(exported["saved_model"], "saved_model")
    changed = tmp_path / exported["tflite"].name  # the same file changed by someone since: no longer ours
    changed.write_bytes(exported["tflite"].read_bytes() + b"x")
    marker = exported["tflite"].parent / f".{exported['tflite'].name}.adain-export.json"
    (tmp_path / marker.name).write_bytes(marker.read_bytes())
    with pytest.raises(UserError, match="not an earlier adain export"):
        check_output(changed, "tflite")
    check_output(changed, "tflite", overwrite=True)


@pytest.mark.slow
def test_export_sizes(exported):
    size = sum(p.stat().st_size for p in exported["saved_model"].rglob("*") if p.is_file())
    assert 25e6 < size < 35e6  # encoder to relu4_1 + decoder, ~7M float32 weights, each stored once
    assert exported["tflite_float16"].stat().st_size < 0.6 * exported["tflite"].stat().st_size


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--checkpoint", "/no/such/run"], "checkpoint not found"),
        (["--output", "{file}/model"], "file is not a directory"),
        (["--output", "{file}"], "exists and is not a SavedModel directory"),
        (["--float16"], "--float16 applies to --format tflite only"),
        (["--format", "onnx"], "invalid choice"),
    ],
)
def test_export_bad_input_exits_2(tiny_run, tmp_path, args, message):
    (tmp_path / "file").write_text("not a model")
    args = [a.replace("{file}", str(tmp_path / "file")) for a in args]
    base = {"--checkpoint": str(tiny_run), "--format": "saved_model", "--output": str(tmp_path / "model")}
    flags = [a for a in args if a == "--float16"]
    pairs = [a for a in args if a != "--float16"]
    base.update(dict(zip(pairs[::2], pairs[1::2], strict=True)))
    result = run_export(*[x for kv in base.items() for x in kv], *flags)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]

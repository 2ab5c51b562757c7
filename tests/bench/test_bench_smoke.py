"""Every bench/ script runs, at a tiny size: the numbers in docs/performance.md stay reproducible.

The scripts' own `main(argv)` runs in this process (TensorFlow is already imported); the cheapest are in
the fast tier, the rest (tens of seconds on 2 busy cores: the reference convolution brackets every row)
and the one that times fresh processes, as a subprocess, in the slow tier. bench/quality.py's run is in
tests/quality/test_bench_quality.py. The assertions check that each printed its table, not the numbers
(which depend on the machine and its load).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from support import REPO, command_env, require_extra

BENCH = REPO / "bench"


def bench_main(name: str):
    """bench/<name>.py's main, loaded under a name of its own (bench/profile.py would shadow the stdlib's)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.slow  # about 20 CPU seconds: a reference measurement brackets every row
def test_stylize(shared_data, capsys):
    """The square rows and the folder rows on the real images (the run that used to crash on its first print)."""
    main = bench_main("stylize")
    assert (
        main(
            ["--content", str(shared_data / "content"), "--sizes", "32", "--cached-sizes", "32"]
            + ["--folder-size", "32", "--repeats", "1"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"content: {shared_data / 'content'}" in out
    assert "| full | 32x32 |" in out and "| cached style | 32x32 |" in out and "| folder, cached style |" in out


@pytest.mark.slow
def test_stylize_tiled(shared_data, capsys):
    main = bench_main("stylize")
    assert main(["--repeats", "1", "--size", "320x256", "--tile", "256", "--style-size", "32"]) == 0
    assert "| tiled 256, overlap 128 | 320x256 |" in capsys.readouterr().out


@pytest.mark.slow
def test_stylize_without_shared_data_uses_the_demo_photos(tmp_path, monkeypatch, capsys):
    """A fresh clone without ../shared: the demo's photos and textures (scikit-image) stand in."""
    require_extra("skimage")
    main = bench_main("stylize")
    monkeypatch.setitem(main.__globals__, "SHARED", tmp_path / "absent")
    monkeypatch.setitem(main.__globals__, "REPO", tmp_path)  # data/demo/ is filled under the (temporary) clone
    assert main(["--sizes", "32", "--cached-sizes", "", "--folder-size", "0", "--repeats", "1"]) == 0
    assert f"content: {tmp_path / 'data' / 'demo' / 'content'}" in capsys.readouterr().out


@pytest.mark.slow
def test_stylize_batches(shared_data, tiny_run, capsys):
    args = ["--checkpoint", str(tiny_run), "--data", str(shared_data), "--size", "32", "--batch-size", "2"]
    assert bench_main("stylize_batches")([*args, "--no-video"]) == 0
    out = capsys.readouterr().out
    assert "style encoded once, batches of 2" in out


@pytest.mark.slow
def test_profile(shared_data, capsys):
    main = bench_main("profile")
    assert main(["stylize", "--size", "32", "--top", "3"]) == 0
    assert main(["train", "--batch", "1", "--crop", "32", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("| op type | count | ms | share |") == 2 and "convolutions:" in out


@pytest.mark.slow
def test_train_step(shared_data, capsys):
    settings = ["--set", "data.crop_size=32", "--set", "data.load_size=48", "--set", "train.batch_size=1"]
    assert bench_main("train_step")([*settings, "--cases", "demo", "--repeats", "1", "--warmup", "0"]) == 0
    assert "demo, batch in memory: " in capsys.readouterr().out


def test_data_pipeline(shared_data, capsys):
    sizes = ["--load-size", "48", "--crop-size", "32", "--batch-size", "2", "--images", "4"]
    assert bench_main("data_pipeline")(["--generate", "4", *sizes, "--style", str(shared_data / "style")]) == 0
    assert "images/s" in capsys.readouterr().out


def test_serve(shared_data, capsys):
    require_extra("starlette")
    require_extra("httpx")
    assert bench_main("serve")(["--size", "32", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "| slider move, HTTP (D + transfer) |" in out


@pytest.mark.slow
def test_cold_start(shared_data, tmp_path):
    """Fresh processes by design: a subprocess of its own."""
    content, style = shared_data / "content" / "sailboat.jpg", shared_data / "style" / "mondrian.jpg"
    result = subprocess.run(
        [sys.executable, str(BENCH / "cold_start.py"), "--size", "32", "--content", str(content)]
        + ["--style", str(style)],
        cwd=tmp_path,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "adain stylize, whole command:" in result.stdout and "total to the first image" in result.stdout


@pytest.mark.slow
def test_torch_reference(shared_data, tmp_path, capsys):
    """Both sides of both cases at a tiny size and their ratios, when the PyTorch reference's venv is made.

    A test never makes it: PyTorch's wheel from PyPI needs its CUDA libraries to import (~5 GB), so CI does not
    install it, and it is no dependency of adain. Without it our side still runs, the install failure (a venv
    below a file, as offline) is one line, the reference's columns stay empty, and the test says it skipped that."""
    import torch_reference

    venv = torch_reference.default_venv()
    made = (venv / torch_reference.MARKER).is_file()
    if not made:
        (tmp_path / "file").write_text("not a folder")
        venv = tmp_path / "file" / "venv"
    cases = ["--set", "data.load_size=48", "--train-crop", "32", "--train-batch", "1", "--sizes", "32"]
    assert bench_main("torch_reference")([*cases, "--repeats", "1", "--warmup", "0", "--torch-venv", str(venv)]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith(("| train step", "| stylize, full"))]
    assert [(row[0].strip(), row[1].strip(), row[2].strip()) for row in rows] == [
        ("train step", "32x32", "1"),
        ("stylize, full", "32x32", "1"),
    ]
    if not made:
        reason = out.split("PyTorch not measured: ")[1].splitlines()[0]
        assert "venv" in reason and all(cell.strip() == "" for row in rows for cell in row[7:])
        pytest.skip(
            f"our side ran; the PyTorch side needs its venv ({torch_reference.default_venv()}), which "
            "`python bench/torch_reference.py` makes on first use"
        )
    for row in rows:  # times print with 4 significant digits: their quotient is the printed ratio to 0.01
        ours, pytorch, ratio = float(row[5]), float(row[7]), float(row[9].strip(" *"))
        assert pytorch > 0 and ratio == pytest.approx(ours / pytorch, abs=0.01)
    assert f"PyTorch {torch_reference.TORCH_REQUIREMENT.split('==')[1]}" in out

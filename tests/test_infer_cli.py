"""infer.py as a real subprocess: output sizes, directories, bad input."""

import pytest
from conftest import run_script, write_small_config
from PIL import Image


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("trained")
    config = write_small_config(
        folder / "c.yaml", folder / "run", shared_data / "content", shared_data / "style", steps=2
    )
    result = run_script("train.py", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "run"


def test_infer_writes_image_of_content_size(trained_run, shared_data, tmp_path):
    content = shared_data / "content" / "cornell.jpg"
    out = tmp_path / "out.png"
    result = run_script("infer.py", "--checkpoint", str(trained_run), "--content", str(content),
                        "--style", str(shared_data / "style" / "mondrian.jpg"), "--output", str(out),
                        "--style-size", "128", "--alpha", "0.7")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(out).size == Image.open(content).size


def test_infer_directories_and_grid(trained_run, shared_data, tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    for name in ("cornell.jpg", "sailboat.jpg"):
        (contents / name).write_bytes((shared_data / "content" / name).read_bytes())
    result = run_script("infer.py", "--checkpoint", str(trained_run), "--content", str(contents),
                        "--style", str(shared_data / "style" / "*.jp*g"), "--output", str(tmp_path / "out"),
                        "--content-size", "64", "--style-size", "64", "--grid", str(tmp_path / "grid.jpg"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    styles = sorted(p.stem for p in (shared_data / "style").glob("*.jp*g"))
    assert written == sorted(f"{c}_stylized_{s}.jpg" for c in ("cornell", "sailboat") for s in styles)
    assert Image.open(tmp_path / "grid.jpg").size[0] > 64 * len(styles)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--content", "missing.jpg"], "content not found"),
        (["--alpha", "1.5"], "--alpha must be in [0, 1]"),
        (["--alpha", "abc"], "--alpha must be a number"),
        (["--checkpoint", "/no/such/run"], "checkpoint not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(trained_run, shared_data, tmp_path, args, message):
    base = {"--checkpoint": str(trained_run), "--content": str(shared_data / "content" / "cornell.jpg"),
            "--style": str(shared_data / "style" / "mondrian.jpg"), "--output": str(tmp_path / "o.jpg")}  # fmt: skip
    base.update(dict(zip(args[::2], args[1::2], strict=False)))
    result = run_script("infer.py", *[x for kv in base.items() for x in kv])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last
    assert not (tmp_path / "o.jpg").exists()


def test_unreadable_image_exits_2(trained_run, shared_data, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    result = run_script("infer.py", "--checkpoint", str(trained_run), "--content", str(broken),
                        "--style", str(shared_data / "style" / "mondrian.jpg"), "--output", str(tmp_path / "o.jpg"))  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read image" in result.stderr.strip().splitlines()[-1]

"""The default checkpoint (adain.shipped) through the real commands: a missing or corrupt one is one line naming the file."""

from __future__ import annotations

import os

import pytest
from support import one_error_line, run_adain, run_script


def stylize_args(shared_data, output) -> list[str]:
    content, style = shared_data / "content" / "sailboat.jpg", shared_data / "style" / "mondrian.jpg"
    return ["--content", str(content), "--style", str(style), "--output", str(output)]


def test_no_shipped_model_is_one_line_naming_the_file(shared_data, tmp_path, monkeypatch):
    """Refused before TensorFlow is imported: cheap enough for the fast tier."""
    monkeypatch.setenv("ADAIN_CHECKPOINT", str(tmp_path / "missing"))
    expected = str(tmp_path / "missing" / "decoder.keras")
    one_error_line(run_script("infer.py", *stylize_args(shared_data, tmp_path / "o.jpg")), expected, "ADAIN_CHECKPOINT")
    one_error_line(run_adain("export", "--format", "tflite", "--output", tmp_path / "m.tflite"), expected)
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.slow
def test_a_corrupt_shipped_decoder_is_one_line_naming_the_file(shared_data, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "decoder.keras").write_bytes(os.urandom(4096))
    monkeypatch.setenv("ADAIN_CHECKPOINT", str(shipped))
    line = one_error_line(
        run_adain("stylize", *stylize_args(shared_data, tmp_path / "o.jpg")), str(shipped / "decoder.keras")
    )
    assert "not found" not in line  # the file is there: what is wrong is its content
    assert not (tmp_path / "o.jpg").exists()

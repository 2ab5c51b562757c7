"""bench/quality.py: every method side by side on the same pairs, one table and one sheet (no network needed)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from peer import PeerUnavailable, peer_python
from PIL import Image
from quality import spread_pairs  # bench/ is on the tests' path (pyproject)
from support import REPO, command_env

from adain.media.images import contact_sheet, image_grid


def test_spread_pairs_puts_distinct_images_first():
    pairs = spread_pairs(3, 4)
    assert sorted(pairs) == [(i, j) for i in range(3) for j in range(4)]
    assert pairs[:3] == [(0, 0), (1, 1), (2, 2)]  # the diagonal: a prefix never repeats a photo or a painting


def test_image_grid_leaves_missing_cells_blank_and_titles_columns():
    red = np.full((10, 20, 3), (255, 0, 0), np.uint8)
    grid = image_grid([[red, None], [red, red]], cell=20, gap=2, header=["a", "b"])
    assert grid.shape == (18 + 2 * 20 + 3 * 2, 2 * 20 + 3 * 2, 3)
    blank = grid[18 + 2 : 18 + 22, 24:44]
    assert (blank == 255).all()
    sheet = contact_sheet([red, red], [red, red, red], [[red] * 3] * 2, cell=20, gap=2)  # styles on top, contents left
    assert sheet.shape == (3 * 20 + 4 * 2, 4 * 20 + 5 * 2, 3)


def test_a_peer_that_cannot_be_installed_is_one_line_saying_why(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(PeerUnavailable) as caught:
        peer_python(blocked / "venv")  # venv cannot be made below a file: as an install failing offline would
    assert "venv" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_one_pair_with_gatys_and_without_the_peer(tmp_path, shared_data):
    from adain.nn.decoder import build_decoder

    decoder = tmp_path / "untrained.keras"
    build_decoder().save(decoder)
    content = sorted((shared_data / "content").iterdir())[0]
    style = sorted((shared_data / "style").iterdir())[0]
    output = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "quality.py"), "--content", str(content), "--style", str(style)]
        + ["--max-images", "1", "--size", "64", "48", "--gatys-iterations", "2", "--no-peer"]
        + ["--output", str(output)],
        cwd=REPO,
        env=command_env(ADAIN_CHECKPOINT=str(decoder)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| untrained | 1 |" in result.stdout  # the default checkpoint, measured on one pair
    assert "| gatys | 1 |" in result.stdout
    assert "peer not measured: --no-peer" in result.stdout
    assert "## 64 px" in result.stdout and "## 48 px" in result.stdout and "Per kind of painting" in result.stdout
    report = json.loads((output / "report.json").read_text())
    first, second = report["sizes"]["64"], report["sizes"]["48"]
    assert set(first["methods"]) == {"untrained", "gatys"} and set(second["methods"]) == {"untrained"}  # Gatys once
    assert first["gatys_pairs"] == 1 and first["peer"]["measured"] is False
    assert first["style_size"] == 64 and second["style_size"] == 48  # the style follows the content's size
    mean = second["methods"]["untrained"]["mean"]
    assert {"gram_style_loss", "ssim", "colour_distance", "streak_ratio", "median"} <= set(mean)
    assert mean["median"]["style_loss"] == pytest.approx(mean["style_loss"])  # one pair: median = mean
    assert list(first["per_style"]["untrained"]) == first["styles"]
    with Image.open(output / "sheet_64.jpg") as sheet:  # content, style, untrained, gatys: 4 columns of 160 px
        assert sheet.size[0] == 4 * 160 + 5 * 4

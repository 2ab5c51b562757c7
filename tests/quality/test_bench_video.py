"""bench/video.py at a tiny size: every temporal method scored on a real clip, a table, a strip, no network."""

import json

import pytest
from support import require_extra, run_script

require_extra("cv2")
require_extra("imageio_ffmpeg")


@pytest.mark.slow
def test_bench_video_smoke(shared_data, tmp_path):
    style = shared_data / "style" / "brushstrokes.jpg"
    args = ["--clips", "ambush_3.mp4", "--frames", "5", "--size", "48", "--styles", str(style), "--style-size", "64"]
    result = run_script("bench/video.py", *args, "--no-peer", "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    methods = {row["method"] for row in report["rows"]}
    assert methods == {"none", "align", "stats", "flow", "flow+stats"}
    for row in report["rows"]:
        assert row["warping_error"] > 0 and row["style_loss"] > 0 and row["fps"] > 0
        # the two per-frame references score no ghost; align is measured against itself (the frame alone on its grid)
        assert (row["ghosting"] == 0) == (row["method"] in ("none", "align"))
    assert report["means"]["flow"]["warping_error"] < report["means"]["none"]["warping_error"]
    assert 0 < report["floors"]["ambush_3"]["warping_error"] < report["means"]["none"]["warping_error"]
    assert "peer not measured: --no-peer" in result.stdout and "| flow+stats |" in result.stdout
    assert (tmp_path / "strip.jpg").stat().st_size > 1000

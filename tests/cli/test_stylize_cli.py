"""infer.py as a real subprocess: output names and sizes, every control, video, bad input."""

import numpy as np
import pytest
from PIL import Image
from support import one_error_line, require_extra, run_script


def infer(run, *args):
    result = run_script("infer.py", "--checkpoint", str(run), *map(str, args))
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.slow
def test_infer_writes_image_of_content_size(tiny_run, shared_data, tmp_path):
    content = shared_data / "content" / "cornell.jpg"  # 729 x 512
    out = tmp_path / "out.png"
    infer(
        tiny_run,
        "--content",
        content,
        "--style",
        shared_data / "style" / "mondrian.jpg",
        "--output",
        out,
        "--content-size",
        "101",
        "--style-size",
        "128",
        "--alpha",
        "0.7",
    )
    assert Image.open(out).size == (144, 101)  # smaller side 101, neither side a multiple of 8


@pytest.mark.slow
def test_directory_by_directory_with_an_alpha_sweep_and_grid(tiny_run, shared_data, tmp_path):
    contents, styles = tmp_path / "contents", tmp_path / "styles"
    for folder, names, source in (
        (contents, ("cornell.jpg", "sailboat.jpg"), "content"),
        (styles, ("mondrian.jpg", "sketch.png"), "style"),
    ):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes((shared_data / source / name).read_bytes())
    infer(
        tiny_run,
        "--content",
        contents,
        "--style",
        styles,
        "--output",
        tmp_path / "out",
        "--alpha",
        "0,0.5,1",
        "--content-size",
        "48",
        "--style-size",
        "48",
        "--ext",
        "png",
        "--grid",
        tmp_path / "grid.jpg",
    )
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(
        f"{c}_stylized_{s}_alpha{a}.png"
        for c in ("cornell", "sailboat")
        for s in ("mondrian", "sketch")
        for a in ("0", "0.5", "1")
    )
    sizes = {Image.open(tmp_path / "out" / name).size for name in written}
    assert sizes == {(68, 48), (48, 48)}  # cornell 729x512 and sailboat 512x512, smaller side 48
    assert Image.open(tmp_path / "grid.jpg").size[0] > 6 * 48


@pytest.mark.slow
def test_blend_mask_preserve_color_and_crop(tiny_run, shared_data, tmp_path):
    content = shared_data / "content" / "cornell.jpg"  # 729 x 512
    styles = [shared_data / "style" / "en_campo_gris.jpg", shared_data / "style" / "impronte_d_artista.jpg"]
    common = ["--content", content, "--content-size", "45", "--style-size", "48"]
    infer(
        tiny_run,
        *common,
        "--style",
        *styles,
        "--mask",
        shared_data / "mask" / "mask.png",
        "--preserve-color",
        "--output",
        tmp_path / "masked.png",
    )
    infer(tiny_run, *common, "--style", *styles, "--style-weights", "1,3", "--crop", "--output", tmp_path / "out")
    masked = np.asarray(Image.open(tmp_path / "masked.png"))
    assert masked.shape == (45, 64, 3)  # the 600x800 mask is resized to the content
    blended = tmp_path / "out" / "cornell_stylized_en_campo_gris+impronte_d_artista.jpg"
    assert Image.open(blended).size == (45, 45)


def make_clip(source, target, frames: int, width: int, height: int) -> None:
    """A short, small cut of the shared clip, re-encoded by ffmpeg itself."""
    import subprocess

    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-frames:v",
            str(frames),
            "-vf",
            f"scale={width}:{height}",
            "-an",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(target),
        ],
        check=True,
    )


@pytest.mark.slow
def test_video_keeps_frame_count_size_and_rate(tiny_run, shared_data, tmp_path):
    from adain.media.video import probe

    clip = tmp_path / "clip.mp4"
    make_clip(shared_data / "video" / "cutBunny.mp4", clip, frames=14, width=96, height=54)
    source = probe(clip)
    assert (source.frames, source.width, source.height) == (14, 96, 54)
    out = tmp_path / "styled" / "clip_art.mp4"
    infer(
        tiny_run,
        "--content",
        clip,
        "--style",
        shared_data / "style" / "mondrian.jpg",
        "--output",
        out,
        "--style-size",
        "64",
        "--batch-size",
        "4",
    )
    result = probe(out)
    assert (result.frames, result.width, result.height, result.fps) == (14, 96, 54, source.fps)
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip_art.mp4"]  # no temp file left


def test_a_failed_video_leaves_no_partial_file(shared_data, tmp_path):
    require_extra("imageio_ffmpeg")
    from adain.errors import UserError
    from adain.media.video import transform_video

    calls = []

    def transform(frames):
        calls.append(len(frames))
        if len(calls) == 3:
            raise UserError("stop half-way")
        return [frames[:, ::8, ::8]]

    with pytest.raises(UserError, match="stop half-way"):
        transform_video(shared_data / "video" / "cutBunny.mp4", [tmp_path / "out.mp4"], transform, batch_size=8)
    assert calls == [8, 8, 8] and list(tmp_path.iterdir()) == []


BAD_INPUT = [
    (["--content", "missing.jpg"], "content not found"),
    (["--alpha", "1.5"], "--alpha must be in [0, 1]"),
    (["--alpha", "0,1.2"], "--alpha must be in [0, 1]"),
    (["--alpha", "abc"], "--alpha must be a number"),
    (["--color-match", "1.5"], "color match must be in [0, 1]"),
    (["--checkpoint", "/no/such/run"], "checkpoint not found"),
    (["--mask", "{mask}"], "--mask: one mask (white: first style, black: second) needs 2 styles, got 1"),
    (["--style-weights", "1,2"], "2 weights for 1 styles"),
    (["--output", "{file}/out.jpg"], "file is not a directory"),
    (["--content", "{tmp}"], "content: no image files under"),
    (["--output", "{tmp}/a.jpg", "--alpha", "0,1"], "names one file but 2 outputs would be written"),
    (["--ext", "xyz"], "--ext: unknown image extension"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_bad_input_exits_2_with_one_line(tiny_run, shared_data, tmp_path, args, message):
    (tmp_path / "file").write_text("a file, not a directory")
    fill = {"{mask}": str(shared_data / "mask" / "mask.png"), "{file}": str(tmp_path / "file"), "{tmp}": str(tmp_path)}
    args = [next((a.replace(k, v) for k, v in fill.items() if k in a), a) for a in args]
    base = {
        "--checkpoint": str(tiny_run),
        "--content": str(shared_data / "content" / "cornell.jpg"),
        "--style": str(shared_data / "style" / "mondrian.jpg"),
        "--output": str(tmp_path / "o.jpg"),
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    before = set(tmp_path.rglob("*"))
    result = run_script("infer.py", *[x for kv in base.items() for x in kv])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert set(tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.slow
def test_unreadable_image_exits_2(tiny_run, shared_data, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    result = run_script(
        "infer.py",
        "--checkpoint",
        str(tiny_run),
        "--content",
        str(broken),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--output",
        str(tmp_path / "o.jpg"),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken} is not an image (or it is damaged)" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.slow
def test_numbers_sizes_and_memory_are_refused_before_any_work(tiny_run, shared_data, tmp_path):
    """Issue 24: each was accepted, or failed late (after the model loaded, in MirrorPad, in C++ after 58 s)."""
    from adain.inference.memory import available_memory, stylize_bytes
    from adain.media.video import VideoWriter

    tiny = tmp_path / "tiny.mp4"
    writer = VideoWriter(tiny, fps=5)
    for value in (0, 128, 255):
        writer.write(np.full((8, 8, 3), value, np.uint8))
    writer.commit()
    content, style = shared_data / "content" / "cornell.jpg", shared_data / "style" / "mondrian.jpg"
    sketch = shared_data / "style" / "sketch.png"
    base = ["--checkpoint", str(tiny_run), "--output", str(tmp_path / "out" / "o.jpg")]
    cases = [
        (["--content", str(content), "--style", str(style), "--alpha", "0.5,,1"], "--alpha has an empty item"),
        (
            ["--content", str(content), "--style", str(style), str(sketch), "--style-weights", "1e308,1e308"],
            "style weights 1e+308,1e+308 overflow when added up",
        ),
        (["--content", str(tiny), "--style", str(style)], f"content video {tiny} is 8x8 px: images need at least 16"),
    ]
    if (available_memory() or 0) < stylize_bytes(7000, 9967):  # 729x512 at --content-size 7000: 70 Mpx
        cases.append(
            (["--content", str(content), "--style", str(style), "--content-size", "7000"], "in one piece needs about")
        )
    for args, message in cases:
        one_error_line(run_script("infer.py", *base, *args, timeout=300), message)
    assert not (tmp_path / "out").exists()

    # a path through a folder that does not exist: written where it resolves, no empty folder left behind
    (tmp_path / "out").mkdir()
    args = ["--content", str(content), "--style", str(style), "--content-size", "64", "--style-size", "64"]
    result = run_script("infer.py", "--checkpoint", str(tiny_run), *args, "--output", f"{tmp_path}/out/nosuch/../x.jpg")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.jpg"]


def test_the_memory_estimate_refuses_what_does_not_fit():
    from adain.errors import UserError
    from adain.inference.memory import check_memory, stylize_bytes

    gigabyte = 2**30
    check_memory([(1024, 1024)] * 8, batch_size=4, available=8 * gigabyte)  # 4 x 1 Mpx: about 3.5 GB
    with pytest.raises(UserError, match=r"stylizing 4 images of 1024x1024 px \(1 Mpx\) in one piece needs about 4 GB"):
        check_memory([(1024, 1024)] * 8, batch_size=4, available=3 * gigabyte)
    with pytest.raises(UserError, match=r"9967x7000 px \(70 Mpx\) in one piece needs about 43 GB of memory, and 16.0"):
        check_memory([(512, 512), (7000, 9967)], batch_size=4, available=16 * gigabyte)
    assert stylize_bytes(7000, 9967) > 40 * gigabyte


@pytest.mark.slow
def test_video_temporal_option_end_to_end(shared_data, tmp_path):
    """`--temporal` on a short real clip with the shipped model: every choice writes the clip, and the default
    flickers less than `none` (per frame), measured on the written videos with the benchmark's metric."""
    require_extra("cv2")
    from adain.media.video import read_frames
    from adain.quality.temporal_metrics import ClipMotion, warping_error

    clip = tmp_path / "clip.mp4"
    make_clip(shared_data / "video" / "ambush_3.mp4", clip, frames=6, width=150, height=64)
    errors = {}
    for method in ("none", "align", None):
        out = tmp_path / f"{method}.mp4"
        extra = ["--temporal", method] if method else []
        args = ["--content", clip, "--style", shared_data / "style" / "brushstrokes.jpg", "--output", out]
        result = run_script("infer.py", *map(str, args), "--style-size", "128", *extra)
        assert result.returncode == 0, result.stderr[-2000:]
        frames = list(read_frames(out))
        assert len(frames) == 6 and frames[0].shape == (64, 150, 3)
        errors[method] = warping_error(frames, ClipMotion.of(list(read_frames(clip))))
    assert errors[None] < 0.6 * errors["none"], errors  # align's gain needs a pan of whole pixels: test_temporal.py

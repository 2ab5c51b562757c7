"""The wheel is the whole product: built from the source tree, installed into a bare virtualenv, it stylizes
with the shipped model from any working directory, with an empty cache and without scikit-image.

The bare venv gets only the wheel (`pip install --no-deps`); the dependencies come from this interpreter's
site-packages through a `.pth` line, which adds the folder to `sys.path` after the venv's own site-packages
and does not run the `.pth` files inside it, so an editable install of this checkout stays invisible.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from support import REPO, SHARED_DATA, require_shared

pytestmark = pytest.mark.slow

STYLIZE = textwrap.dedent(
    """
    import sys
    import numpy as np
    import adain
    from adain import Stylizer
    from adain.media.images import load_image

    assert adain.__file__.startswith(sys.argv[1]), adain.__file__  # the wheel's copy, not a checkout
    try:
        import skimage  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("scikit-image is importable: the test would not show that the package needs none")
    stylizer = Stylizer.from_checkpoint()  # the shipped model
    image = stylizer.stylize(load_image(sys.argv[2]), load_image(sys.argv[3]), content_size=64, style_size=64)
    assert image.dtype == np.uint8 and min(image.shape[:2]) == 64 and image.std() > 5, (image.shape, image.std())
    print("stylized", image.shape)
    """
)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def test_the_wheel_stylizes_from_a_bare_venv_anywhere(tmp_path, vgg_weights):
    from adain.weights.sources import adain_cache_file

    require_shared()
    dist, venv, cwd, cache = (tmp_path / name for name in ("dist", "venv", "cwd", "cache"))
    cwd.mkdir()
    cache.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "ADAIN_"))}
    # sdist, then the wheel from the sdist: both must carry the model, the paintings and the channel means.
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], env=env)
    (wheel,) = dist.glob("adain-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        env=env,
    )
    venv_site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (venv_site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    (venv_site / "no_skimage.py").write_text("import sys\nsys.modules['skimage'] = None  # as without the extra\n")
    (venv_site / "no_skimage.pth").write_text("import no_skimage\n")

    # An empty adain cache (no channel means); the VGG weights as a file, so that the test needs no network.
    env.update(ADAIN_CACHE_DIR=str(cache), ADAIN_VGG_WEIGHTS=str(adain_cache_file()), TF_CPP_MIN_LOG_LEVEL="2")
    env["KERAS_HOME"] = str(tmp_path / "keras")
    content, style = SHARED_DATA / "content" / "sailboat.jpg", SHARED_DATA / "style" / "mondrian.jpg"
    api = run([str(python), "-c", STYLIZE, str(venv_site), str(content), str(style)], cwd=cwd, env=env)
    assert "stylized" in api.stdout
    args = ["stylize", "--content", str(content), "--style", str(style), "--content-size", "64", "--style-size", "64"]
    run([str(venv / "bin" / "adain"), *args, "--output", "a.jpg"], cwd=cwd, env=env)
    assert (cwd / "a.jpg").stat().st_size > 1000
    assert list(cache.iterdir()) == []  # the channel means came with the package, nothing was measured

"""Take docs/images/serve.png, the README's picture of the web app: `adain serve` in headless Chromium.

    python tools/serve_screenshot.py                       # the shipped model, scikit-image's examples
    python tools/serve_screenshot.py --output /tmp/serve.png --content 1 --style 2
    python tools/serve_screenshot.py --style 5   # the README's picture (Starry Night Over the Rhône)

Needs the `app` and `dev` extras and Debian's chromium + chromium-driver (`make test` installs them).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser import chromium, find_chromium, result_serial, serve, set_slider, wait_for, wait_for_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "images" / "serve.png")
    parser.add_argument("--content", type=int, default=1, help="index of the example photo (1: chelsea)")
    parser.add_argument("--style", type=int, default=2, help="index of the gallery style")
    parser.add_argument("--alpha", type=float, default=0.8)
    parser.add_argument("--gallery", help="folder of paintings for the gallery (default: the app's own)")
    args = parser.parse_args()
    if find_chromium() is None:
        sys.exit("error: chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    with (
        tempfile.TemporaryDirectory() as downloads,
        serve(*(["--gallery", args.gallery] if args.gallery else [])) as server,
        chromium(Path(downloads), 1360, 1130) as driver,
    ):
        driver.get(server.url)
        wait_for(lambda: driver.find_elements("css selector", "#style-gallery button"), what="the gallery")
        driver.find_elements("css selector", "#content-examples button")[args.content].click()
        wait_for(lambda: driver.execute_script("return document.body.dataset.busy !== '1'"), what="the content")
        driver.find_elements("css selector", "#style-gallery button")[args.style].click()
        serial = wait_for_result(driver, 0, timeout=300)
        set_slider(driver, "alpha", args.alpha)
        wait_for_result(driver, serial, timeout=300)
        assert result_serial(driver) > serial
        args.output.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.output))
    print(args.output)


if __name__ == "__main__":
    main()

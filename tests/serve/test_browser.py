"""The web app in a real browser: `adain serve` as a subprocess, driven in Debian's headless Chromium by Selenium:
upload, alpha 0 and 1, download, a text file named .png, a second style and a painted mask.

Under CI=true a missing Chromium, chromedriver or Selenium fails the test (`make test` installs them);
elsewhere it skips with the reason.
"""

from __future__ import annotations

import base64
import io
import os
import time

import numpy as np
import pytest
from browser import chromium, find_chromium, idle, result_serial, serve, set_slider, wait_for, wait_for_result
from PIL import Image

PREVIEW = 128


def require_browser() -> None:
    """Skip (fail under CI=true) without Selenium, Chromium or chromedriver."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install '.[dev]')")
    if find_chromium() is None:
        missing.append("chromium and chromedriver (apt-get install chromium chromium-driver)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def small_copy(source, target, size: int) -> np.ndarray:
    image = Image.open(source).convert("RGB")
    scale = size / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    image.save(target)
    return np.asarray(image)


def shown_image(driver) -> np.ndarray:
    source = driver.find_element("id", "result").get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB")).astype(int)


def choose_file(driver, input_id: str, path) -> None:
    """What picking a file in the dialog does: the (hidden) file input receives the path."""
    element = driver.find_element("id", input_id)
    driver.execute_script("arguments[0].hidden = false;", element)
    element.send_keys(str(path))


def correlation(image: np.ndarray, other: np.ndarray) -> float:
    return float(np.corrcoef(image.mean(axis=-1).ravel(), other.mean(axis=-1).ravel())[0, 1])


def error_text(driver) -> str:
    box = driver.find_element("id", "error")
    return box.text if box.is_displayed() else ""


@pytest.mark.slow
def test_the_page_in_chromium(shared_data, shipped_checkpoint, tmp_path):
    require_browser()
    photo = small_copy(shared_data / "content" / "cornell.jpg", tmp_path / "photo.png", 192)  # 273 x 192
    small_copy(shared_data / "style" / "mondrian.jpg", tmp_path / "painting.png", PREVIEW)
    (tmp_path / "notes.png").write_text("not a picture, only text\n")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with (
        serve("--preview-size", str(PREVIEW), "--style-size", str(PREVIEW)) as server,
        chromium(downloads) as driver,
    ):
        assert server.url.startswith("http://127.0.0.1:") and "this machine only" in server.banner
        driver.get(server.url)
        wait_for(lambda: driver.execute_script("return document.body.dataset.ready === '1'"), 60, "the page")
        choose_file(driver, "content-file", tmp_path / "photo.png")
        wait_for(lambda: driver.find_element("id", "mask-photo").get_attribute("src"), 120, "the photo")
        choose_file(driver, "style-file", tmp_path / "painting.png")
        serial = wait_for_result(driver, 0)

        set_slider(driver, "alpha", 0)
        serial = wait_for_result(driver, serial)
        content_like = shown_image(driver)
        set_slider(driver, "alpha", 1)
        serial = wait_for_result(driver, serial)
        styled = shown_image(driver)
        assert content_like.shape == styled.shape == (PREVIEW, 182, 3)
        target = np.asarray(Image.fromarray(photo).resize((182, PREVIEW), Image.LANCZOS)).astype(int)
        to_content, styled_to_content = np.abs(content_like - target).mean(), np.abs(styled - target).mean()
        assert np.abs(styled - content_like).mean() > 10  # the two results differ
        # alpha 0 is the decoder's reconstruction of the photo (tests/serve/test_app.py checks it exactly): closer
        # to the photo than full style, in pixels and in structure. (The interim shipped model of 2026-12-04
        # reconstructs poorly: 39 levels mean difference at alpha 0 against 47 at alpha 1, hence no tighter bound.)
        assert to_content < styled_to_content, (to_content, styled_to_content)
        assert correlation(content_like, target) > correlation(styled, target) + 0.05
        assert "--alpha" not in driver.find_element("id", "command").text  # alpha 1 is the default

        # the full-resolution download: "original" is the uploaded size
        driver.execute_script(
            "const s = document.getElementById('size'); s.value = '0'; s.dispatchEvent(new Event('change'));"
        )
        serial = wait_for_result(driver, serial)
        driver.find_element("id", "download").click()
        wait_for(lambda: [p for p in downloads.iterdir() if p.suffix == ".png"], 120, "the download")
        time.sleep(0.5)
        (saved,) = [p for p in downloads.iterdir() if p.suffix == ".png"]
        assert Image.open(saved).size == (photo.shape[1], photo.shape[0])

        # a text file named .png: one sentence in the page, and the page keeps working
        choose_file(driver, "content-file", tmp_path / "notes.png")
        wait_for(lambda: error_text(driver), 60, "the error")
        assert error_text(driver) == "“notes.png” is not an image (or it is damaged)."
        set_slider(driver, "alpha", 0.5)
        wait_for_result(driver, serial)
        assert error_text(driver) == "" and idle(driver)

        # a second style from the gallery, then a mask painted with the brush: the command line follows
        serial = result_serial(driver)
        before = shown_image(driver)
        driver.find_element("css selector", "#second-style summary").click()
        driver.find_elements("css selector", "#style2-gallery button")[0].click()
        serial = wait_for_result(driver, serial)
        assert "--style-weights 0.5,0.5" in driver.find_element("id", "command").text
        driver.find_element("id", "use-mask").click()
        serial = wait_for_result(driver, serial)
        from selenium.webdriver.common.action_chains import ActionChains

        canvas = driver.find_element("id", "mask-canvas")
        ActionChains(driver).move_to_element_with_offset(canvas, -40, 0).click_and_hold().move_by_offset(
            80, 10
        ).release().perform()
        serial = wait_for_result(driver, serial)
        assert "--mask mask.png" in driver.find_element("id", "command").text and error_text(driver) == ""
        assert np.abs(shown_image(driver) - before).mean() > 2
        driver.save_screenshot(str(tmp_path / "serve.png"))
    assert Image.open(tmp_path / "serve.png").size[0] > 800

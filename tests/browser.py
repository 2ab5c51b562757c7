"""A real `adain serve` and a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium).

Shared by tests/serve/test_browser.py and tools/serve_screenshot.py (importable as `browser`: tests/ is on the path).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
SHIPPED = REPO / "checkpoints" / "adain-corpus"


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) executables, or None when either is missing."""
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def default_checkpoint_env() -> dict[str, str]:
    """The shipped model: the repository's checkpoints/adain-corpus, else whatever $ADAIN_CHECKPOINT names."""
    if (SHIPPED / "decoder.keras").is_file():
        return {"ADAIN_CHECKPOINT": str(SHIPPED)}
    return {"ADAIN_CHECKPOINT": os.environ["ADAIN_CHECKPOINT"]} if os.environ.get("ADAIN_CHECKPOINT") else {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str  # as the server printed it
    banner: str  # the line it printed at start
    process: subprocess.Popen


@contextlib.contextmanager
def serve(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`python -m adain serve` on a free loopback port as a real subprocess, once it listens (`env`: more variables)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **default_checkpoint_env(),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "adain", "serve", "--port", str(port), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("adain serve: http://"):
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not started.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("adain serve did not start:\n" + "".join(lines)[-3000:])
        banner = next(line for line in lines if line.startswith("adain serve: http://"))
        yield Server(banner.split()[2], banner.strip(), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def chromium(download_dir: Path, width: int = 1360, height: int = 980) -> Iterator:
    """A headless Chromium that saves downloads into `download_dir` without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
        yield driver
    finally:
        driver.quit()


def wait_for(predicate, timeout: float = 120, what: str = "the page") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def result_serial(driver) -> int:
    return int(driver.find_element("id", "result").get_attribute("data-serial") or 0)


def idle(driver) -> bool:
    return driver.execute_script("return document.body.dataset.busy !== '1'")


def wait_for_result(driver, after: int, timeout: float = 120) -> int:
    """Wait until a result newer than serial `after` is shown and no request runs; its serial."""
    wait_for(lambda: result_serial(driver) > after and idle(driver), timeout, "a new result")
    return result_serial(driver)


def set_slider(driver, element_id: str, value: float) -> None:
    """Move a range input as a drag does: set its value and fire `input`."""
    driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = arguments[1];"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
        element_id,
        str(value),
    )

"""Headless Chromium (Debian's) driven by Selenium for the page tests, with a fresh profile.

The flags keep Chromium off the network (no updates, sync or QUIC) and out of the sandbox
(the tests run as root). Skips when chromium or chromium-driver is not installed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")

# A WebRTC page with a microphone and no person: the permission prompt answered yes, a fake
# capture device playing --use-file-for-fake-audio-capture (a WAV) or a beep, audio played
# without a user gesture.
FAKE_AUDIO = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required")


def chromium(*extra: str) -> Iterator[Any]:
    """A Chrome webdriver on a fresh --user-data-dir, quit and removed afterwards; ``extra``: more
    flags (the console's WebRTC test: fake audio devices, see :data:`FAKE_AUDIO`)."""
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromium-driver are not installed (scripts/setup.sh --test)")
    webdriver = pytest.importorskip("selenium.webdriver")
    profile = tempfile.mkdtemp(prefix="hotline-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*FLAGS, *extra, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

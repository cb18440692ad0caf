"""Debian's WebKitGTK (Safari's engine family) for the capture tests: ``WebKitWebDriver`` drives
``MiniBrowser`` through Selenium, on a virtual screen (Xvfb), with WebKit's mock capture devices allowed.
Nothing is downloaded: the three programs come from Debian's webkit2gtk-driver and xvfb packages."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DRIVER = shutil.which("WebKitWebDriver")
XVFB = shutil.which("Xvfb")
BROWSER = next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))), None)
ARGS = ["--automation", "--enable-media-stream=true", "--enable-mock-capture-devices=true",
        "--media-playback-requires-user-gesture=false"]


def available() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return bool(DRIVER and XVFB and BROWSER)


@contextmanager
def screen() -> Iterator[str]:
    """A virtual screen of its own: Xvfb picks a free display number and tells it on a pipe."""
    read, write = os.pipe()
    xvfb = subprocess.Popen([XVFB or "Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as told:
            number = told.readline().strip()
        assert number, "Xvfb gave no display"
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@contextmanager
def webkit() -> Iterator[Any]:
    """A Selenium session in MiniBrowser on its own virtual screen."""
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    with screen() as display:
        options = Options()
        options.binary_location = BROWSER or ""
        for arg in ARGS:
            options.add_argument(arg)
        service = Service(executable_path=DRIVER, service_args=["--host=127.0.0.1"],
                          env={**os.environ, "DISPLAY": display})
        driver = webdriver.WebKitGTK(options=options, service=service)
        try:
            driver.set_script_timeout(60)
            yield driver
        finally:
            driver.quit()

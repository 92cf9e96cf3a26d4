"""A real HTTP server for the browser tests and the screenshots: uvicorn in a thread on a free port,
and Debian's Chromium driven by Playwright (never ``playwright install``: downloads are blocked)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import uvicorn

CHROMIUM = Path(os.environ.get("YIBAO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``with LiveServer(app) as url: …`` — the app served on 127.0.0.1 until the block ends."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="yibao-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console server did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here (None if they can). Under ``CI`` a missing browser is a failure."""
    if CHROMIUM.exists():
        return None
    return f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)"


def require_browser() -> None:
    """Skip (locally) or fail (under ``CI``) when Chromium is missing."""
    import pytest

    reason = chromium_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def launch(playwright, *extra_args: str, env: dict[str, str] | None = None):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], env=env)

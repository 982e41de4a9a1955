"""Child processes for end-to-end tests: start, wait for, kill -9 and stop them; bounded waits.

``ChildProcess`` runs one command with its output in a log file (appended across restarts);
``RegistryProcess`` is ``python -m supplymesh registry serve`` on a free 127.0.0.1 port.
:mod:`supplymesh.testing.network` builds whole networks of these.

Errors::

    NetworkError          base of the harness's errors
    ├── NetworkTimeout    a process or a condition did not come in time
    └── OwnerApiError     a node's owner API answered with an error status
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from supplymesh.testing.servers import free_port

T = TypeVar("T")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class NetworkError(Exception):
    """Base of this module's errors."""


class NetworkTimeout(NetworkError):
    """A process or a condition did not come in time; the message says which."""


class OwnerApiError(NetworkError):
    """A node's owner API answered an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def wait_until(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``check`` until it returns something other than None or False; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise NetworkTimeout(f"{what}: not within {timeout:g} s{extra}")
        time.sleep(interval)


class ChildProcess:
    """One child process, its log file, and ways to end it."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.popen is not None and self.popen.poll() is None

    def spawn(self) -> None:
        """Start the process (it must not be running)."""
        if self.running:
            raise NetworkError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            log.flush()
            # Same process group: Ctrl-C on a test run or the crash script reaches them too.
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: the process ends at once, mid-whatever, with no shutdown code."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it lingers)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def check_alive(self) -> None:
        """Raise with the log's tail if the process has exited."""
        if self.popen is not None and self.popen.poll() is not None:
            raise NetworkError(
                f"{self.name} exited with {self.popen.returncode}\n{self.log_tail()}"
            )

    def answers(self, url: str) -> bool:
        """True once ``url`` answers 200; raises if the process has exited."""
        self.check_alive()
        return _get_ok(url)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- {self.log_path} (tail)\n" + "\n".join(text.splitlines()[-lines:])


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class RegistryProcess:
    """``supplymesh registry serve`` on a free port."""

    def __init__(self, root: Path, db_url: str, name: str = "registry") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.subscriber_id = f"{name}.local"
        argv = [
            sys.executable,
            "-m",
            "supplymesh",
            "registry",
            "serve",
            "--db",
            db_url,
            "--port",
            str(self.port),
            "--home",
            str(root / name),
            "--id",
            self.subscriber_id,
        ]
        self.process = ChildProcess(name, argv, root / "logs" / f"{name}.log")

    def start(self, timeout: float = START_TIMEOUT) -> RegistryProcess:
        """Start and wait until it serves its identity."""
        self.process.spawn()
        wait_until(
            lambda: self.process.answers(f"{self.url}/identity"),
            timeout,
            f"registry on {self.url}",
            detail=self.process.log_tail,
        )
        return self

    def status_of(self, subscriber_id: str) -> str | None:
        """The subscriber's status at this registry (e.g. SUBSCRIBED), or None."""
        try:
            response = httpx.post(
                f"{self.url}/lookup", json={"subscriber_id": subscriber_id}, timeout=5.0
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        items = response.json()
        return str(items[0]["status"]) if items else None

    def stop(self) -> None:
        """Stop the registry."""
        self.process.stop()

"""What the node benchmarks share: child processes, a held dispatcher, a bare ACK server,
CPU readings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.protocol.ack import ACK_BODY
from supplymesh.services.dispatcher import Dispatcher

JSON = "application/json"
REPO = Path(__file__).resolve().parents[1]


class HeldDispatcher(Dispatcher):
    """The node's dispatcher, not started (callbacks stay queued) until released."""

    held = True
    released: asyncio.Event | None = None

    def wake(self) -> None:
        """Something was queued: look now (unless held)."""
        if not self.held:
            super().wake()

    async def run(self) -> None:
        """Wait for the release, then deliver as usual."""
        if self.held:
            self.released = asyncio.Event()
            await self.released.wait()
        await super().run()

    def release(self) -> None:
        """Start delivering."""
        self.held = False
        if self.released is not None:
            self.released.set()


def healthy(url: str) -> bool:
    """GET /health answers 200."""
    return httpx.get(f"{url}/health", timeout=2).status_code == 200


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of every core so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - values[3] - values[4]) / tick, sum(values) / tick


def serve_ack(port: int) -> None:
    """A bare ACK server for the buyers' endpoints (their on_* callbacks land here)."""

    async def ack(_request: Request) -> Response:
        return Response(ACK_BODY, media_type=JSON)

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    app = Starlette(routes=[Route("/health", health), Route("/{action}", ack, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def verdict(ok: bool) -> str:
    """PASS or BELOW."""
    return "PASS" if ok else "BELOW"


@dataclass
class Processes:
    """Child processes, their logs, and stopping them (by pid, newest first)."""

    logs: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start ``python args`` with its output in ``logs/name.log``."""
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{Path(__file__).parent}"},
            cwd=REPO,
        )
        self.children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM, then wait (SIGKILL after 30 s)."""
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        """Stop every child still running."""
        for _name, process in reversed(self.children):
            self.stop(process)

    def tail(self, process: subprocess.Popen[bytes]) -> str:
        """The end of a child's log, for an error message."""
        name = next(n for n, p in self.children if p is process)
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


def wait_until(
    what: str,
    check: Callable[[], bool],
    processes: Processes,
    process: subprocess.Popen[bytes],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> float:
    """Poll ``check()`` until true; the time.time() it became true. Fails if the child died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return time.time()
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{what}: the process exited\n{processes.tail(process)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}\n{processes.tail(process)}")
        time.sleep(interval)

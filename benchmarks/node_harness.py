"""What the node benchmarks share: a held dispatcher, a bare ACK server, CPU readings."""

from __future__ import annotations

import asyncio
import os
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

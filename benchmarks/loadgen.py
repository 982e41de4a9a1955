"""A small HTTP/1.1 keep-alive load generator for benchmarks, run in its own process.

Python HTTP clients cost more per request than the servers they would measure; this one
writes pre-built request bytes on raw asyncio streams and reads just enough of each answer
(status line, Content-Length, body) to stay in step, so the server is the bottleneck.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence


def build_request(
    path: str, body: bytes, port: int, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one POST request (GET when body is empty)."""
    method = "POST" if body else "GET"
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(
    port: int, requests: Sequence[bytes], deadline: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = 0
    try:
        while time.monotonic() < deadline:
            writer.write(requests[index % len(requests)])
            index += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts[0 if 200 <= status < 300 else 1] += 1
    finally:
        writer.close()


async def _run(
    port: int, requests: Sequence[bytes], seconds: float, connections: int
) -> tuple[int, int, float]:
    counts = [0, 0]
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(port, requests[i::connections] or requests, deadline, counts)
            for i in range(connections)
        )
    )
    return counts[0], counts[1], time.monotonic() - started


def _worker(
    port: int,
    requests: Sequence[bytes],
    seconds: float,
    connections: int,
    queue: multiprocessing.Queue[tuple[int, int, float]],
) -> None:
    queue.put(asyncio.run(_run(port, requests, seconds, connections)))


def run_load(
    port: int, requests: Sequence[bytes], seconds: float = 3.0, connections: int = 16
) -> tuple[int, float]:
    """(successful requests, seconds) against 127.0.0.1:port, timed inside the load process.

    Raises RuntimeError if any request got a non-2xx answer.
    """
    queue: multiprocessing.Queue[tuple[int, int, float]] = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_worker, args=(port, list(requests), seconds, connections, queue)
    )
    process.start()
    ok, failed, elapsed = queue.get(timeout=seconds + 60)
    process.join(timeout=30)
    if failed:
        raise RuntimeError(f"{failed} requests failed (of {ok + failed})")
    return ok, elapsed


def measure(
    port: int, requests: Sequence[bytes], seconds: float = 3.0, connections: int = 16
) -> float:
    """Successful requests per second against 127.0.0.1:port, timed inside the load process."""
    ok, elapsed = run_load(port, requests, seconds, connections)
    return ok / elapsed

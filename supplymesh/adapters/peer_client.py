"""Posting signed bodies to peers over HTTP (httpx; any httpx transport can stand in)."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx


class PeerUnreachable(Exception):
    """The peer could not be reached or did not answer in time."""


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    """A peer's HTTP answer."""

    status: int
    body: bytes
    retry_after: float | None = None


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class HttpPeerClient:
    """One pooled HTTP client for every peer."""

    def __init__(
        self,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_answer_bytes: int = 1024 * 1024,
    ) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._max = max_answer_bytes

    async def post(self, url: str, body: bytes, headers: dict[str, str], now: float) -> PeerAnswer:
        """POST ``body``; the answer, or PeerUnreachable."""
        try:
            async with self._client.stream("POST", url, content=body, headers=headers) as response:
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self._max:
                        break
                return PeerAnswer(
                    status=response.status_code,
                    body=bytes(data[: self._max]),
                    retry_after=_retry_after(response.headers.get("retry-after"), now),
                )
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"{url}: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        """Close the pool."""
        await self._client.aclose()

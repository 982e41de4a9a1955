"""The registry's outgoing HTTP: challenging subscribers and pulling peer registries' feeds."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.registry import (
    OnSubscribeRequest,
    OnSubscribeResponse,
    decode_registry_body,
)


class ChallengeFailed(Exception):
    """The subscriber could not be reached or answered wrongly; the message says which."""


class PeerUnavailable(Exception):
    """A peer registry's feed could not be read; the message says why."""


class HttpChallenger:
    """Posts the on_subscribe challenge, signed by the registry, and returns the answer."""

    def __init__(
        self,
        sign_body: Callable[[bytes], str],
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sign_body = sign_body
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __call__(self, subscriber_url: str, request: OnSubscribeRequest, body: bytes) -> str:
        url = subscriber_url.rstrip("/") + "/on_subscribe"
        headers = {"Content-Type": "application/json", "Authorization": self._sign_body(body)}
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChallengeFailed(f"{url} is unreachable ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise ChallengeFailed(f"{url} answered HTTP {response.status_code}")
        try:
            return decode_registry_body(response.content, OnSubscribeResponse).answer
        except ProtocolError as exc:
            raise ChallengeFailed(f"{url} answered something else than an answer: {exc}") from None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class HttpFeedSource:
    """Reads peer registries' change feeds."""

    def __init__(self, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def page(self, peer_url: str, after: int, limit: int = 500) -> bytes:
        """The raw body of ``peer_url``'s feed after ``after``."""
        url = peer_url.rstrip("/") + "/feed"
        try:
            response = await self._client.get(url, params={"after": after, "limit": limit})
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise PeerUnavailable(f"{url} answered HTTP {response.status_code}")
        return response.content

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

"""The ``POST /on_subscribe`` endpoint: answers a registry's challenge with our X25519 key."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.protocol.ack import nack_body
from supplymesh.protocol.errors import ProtocolError, ReceiverRole
from supplymesh.protocol.keys import EncryptionKeyPair
from supplymesh.services.subscription import answer_challenge

JSON = "application/json"


def on_subscribe_endpoint(encryption: EncryptionKeyPair, subscriber_id: str) -> Route:
    """A route answering the challenge for ``subscriber_id``, NACKing anything else."""

    async def on_subscribe(request: Request) -> Response:
        body = await request.body()
        try:
            answer = answer_challenge(encryption, body, subscriber_id=subscriber_id)
        except ProtocolError as exc:
            return Response(nack_body(exc, ReceiverRole.SELLER), status_code=400, media_type=JSON)
        return Response(answer, media_type=JSON)

    return Route("/on_subscribe", on_subscribe, methods=["POST"])


def challenge_app(encryption: EncryptionKeyPair, subscriber_id: str) -> Starlette:
    """An app serving only /on_subscribe (for subscribing before the node itself runs)."""
    return Starlette(routes=[on_subscribe_endpoint(encryption, subscriber_id)])

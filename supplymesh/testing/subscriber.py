"""A participant's minimal server: answers a registry's on_subscribe challenge, nothing else."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.keys import EncryptionKeyPair, encryption_public_key_from_text
from supplymesh.protocol.registry import (
    OnSubscribeRequest,
    OnSubscribeResponse,
    decode_registry_body,
    decrypt_challenge,
)


def challenge_answerer(encryption: EncryptionKeyPair, *, wrong: bool = False) -> Starlette:
    """An app answering ``POST /on_subscribe`` with the decrypted challenge (or a wrong one)."""
    calls: list[str] = []

    async def on_subscribe(request: Request) -> Response:
        try:
            challenge = decode_registry_body(await request.body(), OnSubscribeRequest)
            if challenge.registry_encr_public_key is None:
                return Response(status_code=400)
            registry_key = encryption_public_key_from_text(challenge.registry_encr_public_key)
            answer = decrypt_challenge(encryption, registry_key, challenge.challenge)
        except ProtocolError:
            return Response(status_code=400)
        calls.append(challenge.subscriber_id)
        body = encode_json(OnSubscribeResponse(answer=answer + ("x" if wrong else "")))
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/on_subscribe", on_subscribe, methods=["POST"])])
    app.state.calls = calls
    return app

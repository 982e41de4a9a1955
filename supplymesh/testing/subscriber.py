"""A participant's minimal server for tests: answers on_subscribe, rightly or (on purpose) not."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.protocol.codec import decode_json, encode_json
from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.keys import EncryptionKeyPair
from supplymesh.services.subscription import answer_challenge


def challenge_answerer(encryption: EncryptionKeyPair, *, wrong: bool = False) -> Starlette:
    """An app answering ``POST /on_subscribe``; ``wrong`` spoils the answer (an impostor)."""

    async def on_subscribe(request: Request) -> Response:
        try:
            answer = answer_challenge(encryption, await request.body())
        except ProtocolError:
            return Response(status_code=400)
        if wrong:
            answer = encode_json({"answer": decode_json(answer)["answer"] + "x"})
        return Response(answer, media_type="application/json")

    return Starlette(routes=[Route("/on_subscribe", on_subscribe, methods=["POST"])])

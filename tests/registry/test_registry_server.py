"""The registry over real HTTP on 127.0.0.1, against SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from nacl.signing import VerifyKey

from supplymesh.entrypoints.registry_server import RegistrySettings, create_app
from supplymesh.protocol import signing
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.keys import verify_key_from_text
from supplymesh.protocol.registry import (
    LookupItem,
    SignedRecord,
    sign_record,
    verify_record,
    verify_suspension,
)
from supplymesh.testing.databases import PostgresUnavailable, database, postgres_required
from supplymesh.testing.participants import Participant
from supplymesh.testing.servers import ServerThread, free_port, serving
from supplymesh.testing.subscriber import challenge_answerer

LOOKUP_ITEMS = msgspec.json.Decoder(list[LookupItem])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind."""
    try:
        with database(request.param, tmp_path) as url:
            yield url
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"SUPPLYMESH_REQUIRE_PG=1 but {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")


RegistryFactory = Callable[..., ServerThread]


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[RegistryFactory]:
    """Starts registries on free ports; stops them all at the end."""
    started: list[ServerThread] = []

    def start(
        db: str, name: str = "reg-a", mirrors: tuple[str, ...] = (), port: int | None = None
    ) -> ServerThread:
        port = port or free_port()
        settings = RegistrySettings(
            db_url=db,
            home=tmp_path / name,
            public_url=f"http://127.0.0.1:{port}",
            subscriber_id=f"{name}.registry.local",
            mirrors=mirrors,
            mirror_interval=0.1,
            challenge_interval=0.1,
            challenge_timeout=2.0,
        )
        server = ServerThread(create_app(settings), port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@contextlib.contextmanager
def answering(participant: Participant) -> Iterator[ServerThread]:
    """The participant's on_subscribe endpoint, served at its URL's port."""
    port = int(participant.url.rsplit(":", 1)[1])
    with serving(challenge_answerer(participant.encryption), port) as server:
        yield server


def new_participant(name: str) -> Participant:
    return Participant(subscriber_id=f"{name}.example", url=f"http://127.0.0.1:{free_port()}")


def subscribe(registry: ServerThread, record: SignedRecord) -> httpx.Response:
    return httpx.post(f"{registry.url}/subscribe", content=encode_json(record), timeout=10)


def lookup(registry: ServerThread, **filters: str) -> list[LookupItem]:
    response = httpx.post(f"{registry.url}/lookup", json=filters, timeout=10)
    assert response.status_code == 200, response.text
    registry_key = registry_verify_key(registry)
    signing.verify(
        response.headers["authorization"], response.content, now=time.time(), key=registry_key
    )
    return LOOKUP_ITEMS.decode(response.content)


def registry_verify_key(registry: ServerThread) -> VerifyKey:
    own = msgspec.json.decode(httpx.get(f"{registry.url}/identity").content, type=SignedRecord)
    verify_record(own)
    return verify_key_from_text(own.signing_public_key)


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_subscribe_challenge_then_lookup_returns_the_subject_signed_record(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """A record answers the challenge, becomes SUBSCRIBED, and lookups return it signed."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    with answering(maker):
        response = subscribe(registry, maker.signed())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUBSCRIBED"
    items = lookup(registry, subscriber_id=maker.subscriber_id)
    assert len(items) == 1
    item = items[0]
    assert item.status == "SUBSCRIBED"
    assert item.ukId == "k1"
    assert verify_record(item.record) == item.payload
    assert item.subscriber_url == maker.url
    by_market = lookup(registry, type="BPP", domain="supplymesh:MFG10", city="std:080")
    assert [i.subscriber_id for i in by_market] == [maker.subscriber_id]
    assert lookup(registry, type="BAP") == []
    assert lookup(registry, type="BPP", domain="ONDC:RET10") == []


def test_an_unreachable_subscriber_stays_initiated_with_the_reason_and_is_retried(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """No server at the URL: INITIATED with why; once it answers, the retry subscribes it."""
    registry = start_registry(db_url)
    shop = new_participant("shop")
    response = subscribe(registry, shop.signed())
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "INITIATED"
    assert "unreachable" in body["reason"]
    assert lookup(registry, subscriber_id=shop.subscriber_id) == []
    with answering(shop):
        wait_for(lambda: len(lookup(registry, subscriber_id=shop.subscriber_id)) == 1, timeout=20)


def test_a_wrong_challenge_answer_keeps_the_record_initiated(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """A subscriber that cannot decrypt the challenge is not subscribed."""
    registry = start_registry(db_url)
    impostor = new_participant("impostor")
    port = int(impostor.url.rsplit(":", 1)[1])
    with serving(challenge_answerer(impostor.encryption, wrong=True), port):
        body = subscribe(registry, impostor.signed()).json()
    assert body["status"] == "INITIATED"
    assert "wrong" in body["reason"]
    assert lookup(registry, subscriber_id=impostor.subscriber_id) == []


def test_bad_records_are_refused_and_nothing_is_written(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """Unsigned, badly signed, oversized and malformed bodies get 4xx NACKs, no 500s."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    good = maker.signed()
    tampered = msgspec.structs.replace(good, subscriber_url="http://127.0.0.1:1/evil")
    unsigned = msgspec.json.decode(encode_json(good))
    del unsigned["signature"]
    cases = [
        (encode_json(tampered), 400, "bad-record-signature"),
        (msgspec.json.encode(unsigned), 400, None),
        (b"{not json", 400, None),
        (b"[]", 400, None),
        (b"{" + b'"a":"' + b"x" * 70_000 + b'"}', 413, None),
    ]
    for body, status, text in cases:
        response = httpx.post(f"{registry.url}/subscribe", content=body, timeout=10)
        assert response.status_code == status, response.text
        nack = response.json()
        assert nack["message"]["ack"]["status"] == "NACK"
        assert nack["error"]["code"]
        if text:
            assert text in nack["error"]["message"]
    assert lookup(registry, subscriber_id=maker.subscriber_id) == []
    feed = httpx.get(f"{registry.url}/feed").json()
    assert [e["record"]["subscriber_id"] for e in feed["entries"]] == ["reg-a.registry.local"]
    for bad in (b"[1]", b'{"type": "NOPE"}', b"\xff"):
        assert httpx.post(f"{registry.url}/lookup", content=bad).status_code == 400


def test_a_subscriber_id_held_by_another_key_is_a_conflict(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """Someone else's key claiming a taken subscriber_id gets 409 without its endorsement."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    with answering(maker):
        assert subscribe(registry, maker.signed()).json()["status"] == "SUBSCRIBED"
    squatter = Participant(subscriber_id=maker.subscriber_id, url=maker.url, version=2)
    response = subscribe(registry, squatter.signed())
    assert response.status_code == 409
    assert "endorsed" in response.json()["error"]["message"]
    stale = subscribe(registry, maker.signed(subscriber_url="http://127.0.0.1:9/"))
    assert stale.status_code == 409


def test_key_rotation_keeps_the_old_key_for_lookups_by_its_key_id_until_valid_until(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """A new key endorsed by the old one replaces it; the old key id still resolves."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    with answering(maker):
        assert subscribe(registry, maker.signed()).json()["status"] == "SUBSCRIBED"
        old_key = maker.signing
        previous = maker.rotate()
        rotated = sign_record(maker.payload(), maker.signing, previous)
        assert subscribe(registry, rotated).json()["status"] == "SUBSCRIBED"
    current = lookup(registry, subscriber_id=maker.subscriber_id)
    assert [i.unique_key_id for i in current] == ["k2"]
    old = lookup(registry, subscriber_id=maker.subscriber_id, unique_key_id="k1")
    assert [i.signing_public_key for i in old] == [old_key.public_key_b64]
    body = b'{"context":{}}'
    header = signing.sign(
        body,
        old_key,
        subscriber_id=maker.subscriber_id,
        unique_key_id="k1",
        created=int(time.time()),
        expires=int(time.time()) + 60,
    )
    signing.verify(header, body, now=time.time(), key=old[0].signing_public_key)


def test_a_subject_signed_revocation_removes_the_record_from_lookups(
    db_url: str, start_registry: RegistryFactory
) -> None:
    """After a revocation the subscriber shows as UNSUBSCRIBED and matches no search."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    with answering(maker):
        subscribe(registry, maker.signed())
    maker.version = 2
    response = subscribe(registry, maker.signed(revoked=True))
    assert response.json()["status"] == "SUBSCRIBED"
    assert [i.status for i in lookup(registry, subscriber_id=maker.subscriber_id)] == [
        "UNSUBSCRIBED"
    ]
    assert lookup(registry, type="BPP") == []


def test_a_suspension_is_a_separate_registry_signed_statement(
    db_url: str, start_registry: RegistryFactory, tmp_path: Path
) -> None:
    """The operator's suspension rides beside the untouched, still-verifying record."""
    registry = start_registry(db_url)
    maker = new_participant("maker")
    with answering(maker):
        subscribe(registry, maker.signed())
    token = (tmp_path / "reg-a" / "admin.token").read_text().strip()
    refused = httpx.post(
        f"{registry.url}/admin/suspend",
        json={"subscriber_id": maker.subscriber_id, "reason": "spam"},
    )
    assert refused.status_code == 401
    response = httpx.post(
        f"{registry.url}/admin/suspend",
        json={"subscriber_id": maker.subscriber_id, "reason": "spam"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    (item,) = lookup(registry, subscriber_id=maker.subscriber_id)
    assert item.suspension is not None
    assert item.suspension.reason == "spam"
    assert verify_suspension(item.suspension, registry_verify_key(registry))
    verify_record(item.record)


def test_three_mirrored_registries_converge_and_survive_one_going_down(
    tmp_path: Path, start_registry: RegistryFactory
) -> None:
    """Subscriptions at different registries reach all three; one stops, restarts, catches up."""
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    dbs = [f"sqlite:///{tmp_path / f'reg{i}.sqlite'}" for i in range(3)]
    regs = [
        start_registry(dbs[i], f"reg{i}", tuple(u for j, u in enumerate(urls) if j != i), ports[i])
        for i in range(3)
    ]
    members = [new_participant(f"m{i}") for i in range(3)]
    for i, member in enumerate(members):
        with answering(member):
            assert subscribe(regs[i], member.signed()).json()["status"] == "SUBSCRIBED"

    def converged(registries: list[ServerThread], expected: list[Participant]) -> bool:
        return all(
            {i.subscriber_id for i in lookup(r, type="BPP")} == {m.subscriber_id for m in expected}
            for r in registries
        )

    wait_for(lambda: converged(regs, members))
    regs[2].stop()
    late = new_participant("late")
    with answering(late):
        assert subscribe(regs[0], late.signed()).json()["status"] == "SUBSCRIBED"
    wait_for(lambda: converged(regs[:2], [*members, late]))
    regs[2] = start_registry(dbs[2], "reg2", (urls[0], urls[1]), ports[2])
    wait_for(lambda: converged(regs, [*members, late]))


def test_openapi_documents_the_registry_api(
    tmp_path: Path, start_registry: RegistryFactory
) -> None:
    """/openapi.json lists subscribe, lookup and feed with their body schemas."""
    registry = start_registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    document = httpx.get(f"{registry.url}/openapi.json").json()
    assert {"/subscribe", "/lookup", "/feed", "/identity"} <= set(document["paths"])
    assert "SignedRecord" in document["components"]["schemas"]

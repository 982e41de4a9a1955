"""Ask registries who is on the network, and trust only what the subjects themselves signed.

A registry is replaceable infrastructure, so the client treats every answer as hearsay:

- it asks the configured registries in turn (a registry that failed recently goes last) and
  skips one that times out, refuses the connection, answers non-200, or sends a body that is
  unparseable or not signed by that registry's pinned key (``GET /identity`` on first
  contact, then pinned in the key cache; a key may also be pinned in the configuration);
- every record must carry its subject's own valid signature, match the query, and not have
  expired; for a subject the client already knows, a record with another signing key must be
  endorsed by a key the client trusts (or be the predecessor a trusted record was endorsed
  by), and an older version of a known key's record is a replay. A record that fails is
  dropped and logged, never returned;
- a suspension must be signed by a registry whose key the client holds, else it is stripped.

``verify_key`` is the inbox's key resolver: it answers from the cache while an entry is fresh
(``min(valid_until, fetched_at + key_ttl)``), looks a key up at most once per
``negative_ttl``, and when no registry answers it falls back to the cached key, stale or not,
until the key's own ``valid_until``: an outage of the registries never stops a node trading
with peers it knows, and never raises.

Errors::

    RegistryError                 base of this module's errors
    ├── RegistryUnavailable       no registry answered usably (``failures`` says why, each)
    └── RegistryRejected          a registry refused a subscription (HTTP status, NACK code)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

import httpx
import msgspec
from nacl.public import PublicKey
from nacl.signing import VerifyKey

from supplymesh.adapters.registry_cache import CacheEntry, InMemoryKeyCache, KeyCache
from supplymesh.protocol import signing
from supplymesh.protocol.ack import parse_ack
from supplymesh.protocol.codec import convert, decode_json
from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.registry import (
    LookupItem,
    LookupRequest,
    SignedRecord,
    SubscribeResponse,
    SubscriberType,
    check_succession,
    decode_registry_body,
    matches,
    verify_record,
    verify_suspension,
)

log = logging.getLogger("supplymesh.registry_client")

Clock = Callable[[], datetime]
DEFAULT_TIMEOUT = 3.0
DEFAULT_KEY_TTL = timedelta(hours=1)
DEFAULT_NEGATIVE_TTL = timedelta(seconds=60)
DEFAULT_RETRY_AFTER = timedelta(seconds=30)
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
RESPONSE_SKEW_SECONDS = 30
VALID_FROM_SKEW = timedelta(minutes=1)
_MAX_REMEMBERED_ATTEMPTS = 10_000


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RegistryFailure:
    """Why one registry was skipped."""

    url: str
    reason: str


class RegistryError(Exception):
    """Base of the registry client's errors."""


class RegistryUnavailable(RegistryError):
    """No registry gave a usable answer; ``failures`` lists each registry's reason."""

    def __init__(self, failures: Sequence[RegistryFailure]) -> None:
        detail = "; ".join(f"{f.url}: {f.reason}" for f in failures) or "no registry configured"
        super().__init__(f"no registry answered: {detail}")
        self.failures = tuple(failures)


class RegistryRejected(RegistryError):
    """A registry answered a subscription with a NACK."""

    def __init__(self, url: str, http_status: int, code: str | None, message: str) -> None:
        super().__init__(f"{url} refused (HTTP {http_status}, code {code}): {message}")
        self.url = url
        self.http_status = http_status
        self.code = code
        self.message = message


class _Skip(Exception):
    """This registry's answer is unusable; ask the next one."""


@dataclass(slots=True)
class _Flight:
    lock: asyncio.Lock
    users: int = 0


def lineage_failure(known: Sequence[SignedRecord], new: SignedRecord) -> str | None:
    """Why ``new`` cannot belong to the subject whose trusted records are ``known`` (or None).

    ``new``'s self-signature must already verify. With nothing known, the first record is
    trusted as it is (trust on first use). Otherwise ``new`` must use a key the client
    trusts (and not be an older version of that key's record), be endorsed by a trusted key,
    or be the predecessor whose key endorsed a trusted record.
    """
    if not known:
        return None
    same_key = [r for r in known if r.signing_public_key == new.signing_public_key]
    if same_key:
        newer = [r.version for r in same_key if r.unique_key_id == new.unique_key_id]
        if newer and max(newer) > new.version:
            return f"version {new.version} replays an older record; version {max(newer)} is known"
        return None
    if new.endorsement is not None:
        for current in known:
            if current.unique_key_id == new.endorsement.unique_key_id:
                try:
                    check_succession(current.payload, new)
                except ProtocolError as exc:
                    return exc.message
                return None
    for later in known:
        endorsement = later.endorsement
        if (
            endorsement is not None
            and endorsement.unique_key_id == new.unique_key_id
            and later.version > new.version
            and _endorsed_by(later, new)
        ):
            return None
    trusted = ", ".join(sorted({r.unique_key_id for r in known}))
    return (
        f"key {new.unique_key_id} is not endorsed by a key trusted for {new.subscriber_id} "
        f"({trusted}): a forged or unendorsed key change"
    )


def _endorsed_by(later: SignedRecord, earlier: SignedRecord) -> bool:
    try:
        check_succession(earlier.payload, later)
    except ProtocolError:
        return False
    return True


class RegistryClient:
    """Looks participants up at one of several registries and keeps their keys."""

    def __init__(
        self,
        registries: str | Sequence[str],
        *,
        cache: KeyCache | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        key_ttl: timedelta = DEFAULT_KEY_TTL,
        negative_ttl: timedelta = DEFAULT_NEGATIVE_TTL,
        retry_after: timedelta = DEFAULT_RETRY_AFTER,
        registry_keys: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        urls = [registries] if isinstance(registries, str) else list(registries)
        self.registries = tuple(url.rstrip("/") for url in urls)
        self.cache: KeyCache = cache if cache is not None else InMemoryKeyCache()
        self.timeout = timeout
        self.key_ttl = key_ttl
        self.negative_ttl = negative_ttl
        self.retry_after = retry_after
        self._pins = {url.rstrip("/"): key for url, key in (registry_keys or {}).items()}
        self._clock = clock
        self._max_response_bytes = max_response_bytes
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._failed_at: dict[str, datetime] = {}
        self._attempts: dict[tuple[str, str], datetime] = {}
        self._flights: dict[tuple[str, str], _Flight] = {}

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- lookup ---------------------------------------------------------------------------

    async def lookup(self, query: LookupRequest) -> list[LookupItem]:
        """Records matching ``query`` from the first registry that answers usably, verified."""
        body = msgspec.json.encode(query)
        failures: list[RegistryFailure] = []
        partial: list[LookupItem] | None = None
        for url in self._order():
            try:
                async with asyncio.timeout(self.timeout):
                    identity, items = await self._ask(url, body)
            except TimeoutError:
                reason = f"no answer within {self.timeout:g} s"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except (_Skip, ProtocolError) as exc:
                reason = str(exc)
            else:
                accepted, forged = self._accept(url, identity, items, query)
                if not forged:
                    self._failed_at.pop(url, None)
                    return accepted
                # A registry that serves forgeries may also hide the genuine records: ask the
                # next one too, and fall back on what this one served that did verify.
                reason = f"served {forged} forged or replayed record(s)"
                partial = accepted if partial is None else partial
            log.warning("registry %s skipped: %s", url, reason)
            self._failed_at[url] = self._clock()
            failures.append(RegistryFailure(url, reason))
        if partial is not None:
            return partial
        raise RegistryUnavailable(failures)

    def _order(self) -> list[str]:
        """Healthy registries first, in configured order; recently failed ones last."""
        now = self._clock()
        recent = {url for url, at in self._failed_at.items() if now < at + self.retry_after}
        return [u for u in self.registries if u not in recent] + [
            u for u in self.registries if u in recent
        ]

    async def _ask(self, url: str, body: bytes) -> tuple[SignedRecord, list[object]]:
        identity = await self._identity(url)
        status, headers, raw = await self._post(url + "/lookup", body)
        if status != 200:
            raise _Skip(f"HTTP {status}")
        header = headers.get(signing.AUTHORIZATION)
        if header is None:
            raise _Skip("the response is not signed (no Authorization header)")
        params = signing.parse_signature_header(header)
        if params.unique_key_id != identity.unique_key_id:
            identity = await self._identity(url, rotated_to=params.unique_key_id)
        signing.verify(
            header,
            raw,
            now=self._clock().timestamp(),
            key=identity.verify_key(),
            skew=RESPONSE_SKEW_SECONDS,
            expected_signer=identity.subscriber_id,
        )
        tree = decode_json(raw, self._max_response_bytes)
        if not isinstance(tree, list):
            raise _Skip("the lookup answer is not a JSON array")
        return identity, tree

    async def _identity(self, url: str, rotated_to: str | None = None) -> SignedRecord:
        """The registry's pinned identity; fetched on first contact or on a key rotation."""
        pinned = self.cache.registry_identity(url)
        pin = self._pins.get(url)
        if (
            pinned is not None
            and (pin is None or pinned.signing_public_key == pin)
            and (rotated_to is None or pinned.unique_key_id == rotated_to)
        ):
            return pinned
        status, _headers, raw = await self._get(url + "/identity")
        if status != 200:
            raise _Skip(f"GET /identity answered HTTP {status}")
        identity = decode_registry_body(raw, SignedRecord)
        verify_record(identity)
        if identity.type is not SubscriberType.BREG:
            raise _Skip(f"/identity is a {identity.type} record, not a registry's (BREG)")
        if pin is not None:  # the configured key wins over what was pinned on first contact
            if identity.signing_public_key != pin:
                raise _Skip("/identity's key differs from the key pinned in the configuration")
        elif pinned is not None and pinned.signing_public_key != identity.signing_public_key:
            if pinned.subscriber_id != identity.subscriber_id:
                raise _Skip(f"/identity is {identity.subscriber_id}, pinned {pinned.subscriber_id}")
            check_succession(pinned.payload, identity)  # a new key must be endorsed by the old
        if rotated_to is not None and identity.unique_key_id != rotated_to:
            raise _Skip(f"the response is signed by key {rotated_to}, /identity has another")
        self.cache.pin_registry(url, identity)
        return identity

    async def _get(self, url: str) -> tuple[int, httpx.Headers, bytes]:
        async with self._http.stream("GET", url) as response:
            return response.status_code, response.headers, await self._read(response)

    async def _post(self, url: str, body: bytes) -> tuple[int, httpx.Headers, bytes]:
        headers = {"Content-Type": "application/json"}
        async with self._http.stream("POST", url, content=body, headers=headers) as response:
            return response.status_code, response.headers, await self._read(response)

    async def _read(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_response_bytes:
                raise _Skip(f"the answer exceeds {self._max_response_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _accept(
        self, url: str, identity: SignedRecord, tree: list[object], query: LookupRequest
    ) -> tuple[list[LookupItem], int]:
        """The items that verify (cached, in the registry's order) and how many were forged."""
        now = self._clock()
        items: list[tuple[int, LookupItem]] = []
        for index, value in enumerate(tree):
            try:
                items.append((index, convert(value, LookupItem, f"$[{index}]")))
            except ProtocolError as exc:
                log.warning("dropped item %d from %s: %s", index, url, exc)
        known: dict[str, list[SignedRecord]] = {}
        accepted: list[tuple[int, LookupItem]] = []
        forged = 0
        for index, item in sorted(items, key=lambda pair: pair[1].version):
            subject = known.setdefault(item.subscriber_id, self._trusted(item.subscriber_id, now))
            reason, forgery = self._refusal(item, query, subject, now)
            if reason is not None:
                forged += forgery
                log.warning(
                    "dropped the record of %s (key %s, version %d) from registry %s: %s",
                    item.subscriber_id,
                    item.unique_key_id,
                    item.version,
                    url,
                    reason,
                )
                continue
            subject.append(item.record)
            accepted.append((index, self._checked_suspension(url, identity, item)))
        accepted.sort(key=lambda pair: pair[0])
        self.cache.put([CacheEntry(record=i.record, fetched_at=now) for _, i in accepted], now)
        return [item for _, item in accepted], forged

    def _trusted(self, subscriber_id: str, now: datetime) -> list[SignedRecord]:
        """The records the client trusts for a subject: cached and not expired."""
        return [e.record for e in self.cache.for_subject(subscriber_id) if e.valid_until > now]

    @staticmethod
    def _refusal(
        item: LookupItem, query: LookupRequest, known: list[SignedRecord], now: datetime
    ) -> tuple[str | None, bool]:
        """Why the item is dropped (or None), and whether that makes it a forgery."""
        try:
            payload = verify_record(item.record)
        except ProtocolError as exc:
            return exc.message, True
        if not matches(payload, query):
            return "it does not match the query", False
        if payload.valid_range()[1] <= now:
            return f"it expired at {payload.valid_until}", False
        reason = lineage_failure(known, item.record)
        return reason, reason is not None

    def _checked_suspension(self, url: str, identity: SignedRecord, item: LookupItem) -> LookupItem:
        statement = item.suspension
        if statement is None:
            return item
        keys = [identity] if statement.registry_id == identity.subscriber_id else []
        keys += [
            r
            for u in self.registries
            if u != url
            and (r := self.cache.registry_identity(u)) is not None
            and r.subscriber_id == statement.registry_id
        ]
        if any(verify_suspension(statement, r.verify_key()) for r in keys):
            return item
        log.warning(
            "stripped a suspension of %s claimed for registry %s from %s: its signature does "
            "not verify with a registry key this client holds",
            item.subscriber_id,
            statement.registry_id,
            url,
        )
        return msgspec.structs.replace(item, suspension=None)

    # -- keys for the inbox ---------------------------------------------------------------

    async def verify_key(self, subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        """The sender's Ed25519 key, or None if unknown, revoked or expired; never raises."""
        entry = await self._entry(subscriber_id, unique_key_id)
        return None if entry is None else entry.record.verify_key()

    async def encryption_key(self, subscriber_id: str, unique_key_id: str) -> PublicKey | None:
        """The subject's X25519 key for that record, or None."""
        entry = await self._entry(subscriber_id, unique_key_id)
        return None if entry is None else entry.record.encryption_key()

    def cached_verify_key(self, subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        """A usable cached key without any lookup (a ``signing.KeyResolver``)."""
        entry = self.cache.get(subscriber_id, unique_key_id)
        if entry is None or not self._usable(entry, self._clock()):
            return None
        return entry.record.verify_key()

    async def subscriber(self, subscriber_id: str) -> SignedRecord | None:
        """The subject's current record (highest version), or None if unknown or revoked."""
        now = self._clock()
        current = self._current(subscriber_id, now)
        if current is None or now >= current.fresh_until(self.key_ttl):
            async with self._single_flight((subscriber_id, "")):
                await self._refresh(LookupRequest(subscriber_id=subscriber_id), (subscriber_id, ""))
            now = self._clock()
            current = self._current(subscriber_id, now)
        if current is None or current.record.revoked:
            return None
        return current.record

    def _current(self, subscriber_id: str, now: datetime) -> CacheEntry | None:
        entries = [e for e in self.cache.for_subject(subscriber_id) if e.valid_until > now]
        return max(entries, key=lambda e: e.version, default=None)

    async def _entry(self, subscriber_id: str, unique_key_id: str) -> CacheEntry | None:
        key = (subscriber_id, unique_key_id)
        entry = self.cache.get(*key)
        if entry is None or self._clock() >= entry.fresh_until(self.key_ttl):
            async with self._single_flight(key):
                entry = self.cache.get(*key)  # another caller may have just refreshed it
                if entry is None or self._clock() >= entry.fresh_until(self.key_ttl):
                    query = LookupRequest(subscriber_id=subscriber_id, unique_key_id=unique_key_id)
                    await self._refresh(query, key)
                    entry = self.cache.get(*key)
        if entry is None or not self._usable(entry, self._clock()):
            return None
        return entry

    async def _refresh(self, query: LookupRequest, key: tuple[str, str]) -> None:
        """Look up ``query`` unless it was tried within the negative TTL; never raises."""
        now = self._clock()
        last = self._attempts.get(key)
        if last is not None and now < last + self.negative_ttl:
            return
        self._remember_attempt(key, now)
        try:
            await self.lookup(query)
        except RegistryUnavailable as exc:
            cached = self.cache.get(*key) if key[1] else self._current(key[0], now)
            if cached is not None:
                log.warning(
                    "no registry answered for %s key %s; using the cached key fetched at %s (%s)",
                    key[0],
                    key[1] or cached.unique_key_id,
                    cached.fetched_at.isoformat(),
                    exc,
                )
            else:
                log.warning("no registry answered for %s key %s: %s", key[0], key[1], exc)

    def _remember_attempt(self, key: tuple[str, str], now: datetime) -> None:
        self._attempts.pop(key, None)
        self._attempts[key] = now
        if len(self._attempts) > _MAX_REMEMBERED_ATTEMPTS:
            for old in list(self._attempts)[: len(self._attempts) // 2]:
                del self._attempts[old]

    def _usable(self, entry: CacheEntry, now: datetime) -> bool:
        """Not revoked, within its validity, and no later revocation of its subject is known."""
        record = entry.record
        if record.revoked or entry.valid_until <= now or entry.valid_from > now + VALID_FROM_SKEW:
            return False
        return not any(
            other.record.revoked and other.version > record.version
            for other in self.cache.for_subject(record.subscriber_id)
        )

    @contextlib.asynccontextmanager
    async def _single_flight(self, key: tuple[str, str]) -> AsyncIterator[None]:
        """Let one caller per key look up at a time; the others then read what it cached."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight(asyncio.Lock())
        flight.users += 1
        try:
            async with flight.lock:
                yield
        finally:
            flight.users -= 1
            if flight.users == 0:
                del self._flights[key]

    # -- subscribing ----------------------------------------------------------------------

    async def submit(self, registry_url: str, record: SignedRecord) -> SubscribeResponse:
        """POST a signed record to one registry's /subscribe; its answer, or a RegistryError."""
        url = registry_url.rstrip("/")
        try:
            async with asyncio.timeout(self.timeout):
                status, _headers, raw = await self._post(
                    url + "/subscribe", msgspec.json.encode(record)
                )
        except TimeoutError:
            raise RegistryUnavailable(
                [RegistryFailure(url, f"no answer within {self.timeout:g} s")]
            ) from None
        except (httpx.HTTPError, _Skip) as exc:
            raise RegistryUnavailable(
                [RegistryFailure(url, f"{type(exc).__name__}: {exc}")]
            ) from None
        if status != 200:
            try:
                error = parse_ack(raw).error
            except ProtocolError:
                error = None
            if error is None:
                raise RegistryRejected(url, status, None, raw[:200].decode(errors="replace"))
            raise RegistryRejected(url, status, error.code, error.message or "")
        try:
            return decode_registry_body(raw, SubscribeResponse)
        except ProtocolError as exc:
            raise RegistryUnavailable(
                [RegistryFailure(url, f"the subscribe answer is not a SubscribeResponse: {exc}")]
            ) from None

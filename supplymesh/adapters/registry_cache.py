"""The registry records a node trusts, kept in memory or in a JSON file across restarts.

A node verifies every incoming message against its peer's key, so the peer keys it has
already checked are its most valuable cache: with them, a node that restarts while every
registry is down still trades with the peers it knows. Entries are whole subject-signed
records (never bare keys), so a file that was tampered with is caught on load: each record's
self-signature is checked again and a record that fails is dropped.

The file is written atomically (a temporary file in the same directory, then ``os.replace``),
mode 0600. A file that cannot be read or parsed is logged, set aside as ``*.corrupt`` and
ignored: a bad cache never stops a node from starting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Protocol

import msgspec

from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.registry import SignedRecord, SubscriberType, parse_time, verify_record

log = logging.getLogger("supplymesh.registry_client")

CACHE_FORMAT = 1
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class CacheEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A subject-signed record the client accepted, and when it fetched it."""

    record: SignedRecord
    fetched_at: AwareDatetime

    @property
    def subscriber_id(self) -> str:
        """Whose record this is."""
        return self.record.subscriber_id

    @property
    def unique_key_id(self) -> str:
        """The registry key id (``ukId``) of the record's signing key."""
        return self.record.unique_key_id

    @property
    def signing_public_key(self) -> str:
        """The subject's Ed25519 public key, base64."""
        return self.record.signing_public_key

    @property
    def encr_public_key(self) -> str:
        """The subject's X25519 public key, base64."""
        return self.record.encr_public_key

    @property
    def subscriber_url(self) -> str:
        """Where the subject listens."""
        return self.record.subscriber_url

    @property
    def type(self) -> SubscriberType:
        """BAP, BPP, BG or BREG."""
        return self.record.type

    @property
    def version(self) -> int:
        """The record's version (higher replaces lower)."""
        return self.record.version

    @property
    def valid_from(self) -> datetime:
        """When the subject's key starts to be valid."""
        return parse_time(self.record.valid_from, "valid_from")

    @property
    def valid_until(self) -> datetime:
        """When the subject's key stops being valid."""
        return parse_time(self.record.valid_until, "valid_until")

    def fresh_until(self, ttl: timedelta) -> datetime:
        """Until when the entry is used without asking a registry again."""
        return min(self.valid_until, self.fetched_at + ttl)


class KeyCache(Protocol):
    """Where the registry client keeps the records and registry identities it trusts."""

    def get(self, subscriber_id: str, unique_key_id: str) -> CacheEntry | None:
        """The entry for one key of one subject, if known."""

    def for_subject(self, subscriber_id: str) -> list[CacheEntry]:
        """Every entry known for a subject (any key, any version)."""

    def put(self, entries: Iterable[CacheEntry], now: datetime) -> None:
        """Store entries (a higher version replaces a lower) and forget expired records."""

    def registry_identity(self, registry_url: str) -> SignedRecord | None:
        """The identity record pinned for a registry URL, if any."""

    def pin_registry(self, registry_url: str, identity: SignedRecord) -> None:
        """Pin a registry's identity record (its key signs its lookup responses)."""


class InMemoryKeyCache:
    """A key cache that lives as long as the process."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], CacheEntry] = {}
        self._by_subject: dict[str, set[str]] = {}
        self._registries: dict[str, SignedRecord] = {}

    def get(self, subscriber_id: str, unique_key_id: str) -> CacheEntry | None:
        """The entry for one key of one subject, if known."""
        return self._entries.get((subscriber_id, unique_key_id))

    def for_subject(self, subscriber_id: str) -> list[CacheEntry]:
        """Every entry known for a subject (any key, any version)."""
        return [
            self._entries[(subscriber_id, key_id)]
            for key_id in sorted(self._by_subject.get(subscriber_id, ()))
        ]

    def put(self, entries: Iterable[CacheEntry], now: datetime) -> None:
        """Store entries (a higher version replaces a lower) and forget expired records."""
        for entry in entries:
            self._store(entry)
        for key, entry in list(self._entries.items()):
            if entry.valid_until <= now:
                self._forget(key)
        self._changed()

    def registry_identity(self, registry_url: str) -> SignedRecord | None:
        """The identity record pinned for a registry URL, if any."""
        return self._registries.get(registry_url)

    def pin_registry(self, registry_url: str, identity: SignedRecord) -> None:
        """Pin a registry's identity record (its key signs its lookup responses)."""
        self._registries[registry_url] = identity
        self._changed()

    def entries(self) -> list[CacheEntry]:
        """Every entry, for inspection and persistence."""
        return list(self._entries.values())

    def registries(self) -> dict[str, SignedRecord]:
        """Every pinned registry identity by URL."""
        return dict(self._registries)

    def _store(self, entry: CacheEntry) -> None:
        key = (entry.subscriber_id, entry.unique_key_id)
        current = self._entries.get(key)
        if current is not None and current.version > entry.version:
            return
        self._entries[key] = entry
        self._by_subject.setdefault(entry.subscriber_id, set()).add(entry.unique_key_id)

    def _forget(self, key: tuple[str, str]) -> None:
        del self._entries[key]
        key_ids = self._by_subject[key[0]]
        key_ids.discard(key[1])
        if not key_ids:
            del self._by_subject[key[0]]

    def _changed(self) -> None:
        """Hook for subclasses that persist."""


class _CacheFile(msgspec.Struct, kw_only=True):
    format: int
    entries: list[CacheEntry] = msgspec.field(default_factory=list)
    registries: dict[str, SignedRecord] = msgspec.field(default_factory=dict)


class FileKeyCache(InMemoryKeyCache):
    """A key cache persisted as one JSON file, loaded at start and rewritten atomically."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._load()

    def save(self) -> None:
        """Write the file now (atomically, 0600); failures are logged, never raised."""
        data = msgspec.json.encode(
            _CacheFile(format=CACHE_FORMAT, entries=self.entries(), registries=self.registries())
        )
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as exc:
            log.error("cannot write the key cache %s: %s", self.path, exc)
            return
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp made it 0600
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except OSError as exc:
            log.error("cannot write the key cache %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def _changed(self) -> None:
        self.save()

    def _load(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.error("cannot read the key cache %s (%s); starting empty", self.path, exc)
            return
        if stat.S_IMODE(info.st_mode) & 0o022:
            # Whoever can write the file can pin keys for subjects this node has not met yet.
            log.error(
                "the key cache %s is writable by others (mode %04o); ignoring it",
                self.path,
                stat.S_IMODE(info.st_mode),
            )
            return
        try:
            cache = msgspec.json.decode(self.path.read_bytes(), type=_CacheFile, strict=True)
        except (OSError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            self._set_aside(str(exc))
            return
        if cache.format != CACHE_FORMAT:
            self._set_aside(f"format {cache.format}, expected {CACHE_FORMAT}")
            return
        for entry in cache.entries:
            if _verifies(entry.record, f"cached record of {entry.subscriber_id}"):
                self._store(entry)
        for url, identity in cache.registries.items():
            if _verifies(identity, f"cached identity of registry {url}"):
                self._registries[url] = identity

    def _set_aside(self, reason: str) -> None:
        aside = self.path.with_name(self.path.name + ".corrupt")
        log.error(
            "the key cache %s is unreadable (%s); moved to %s, starting empty",
            self.path,
            reason,
            aside,
        )
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)


def _verifies(record: SignedRecord, what: str) -> bool:
    try:
        verify_record(record)
    except ProtocolError as exc:
        log.error("dropping the %s: %s", what, exc.message)
        return False
    return True

"""A node's home folder: its config (TOML), keys, owner token, key cache and SQLite database.

HOME/node.toml        who the node is and where it trades (and, optionally, delivery tuning:
                      retry_base_delay, retry_max_delay, breaker_threshold, breaker_cooldown,
                      delivery_lease, in seconds; absent means the dispatcher's defaults)
HOME/keys/            signing.key and encryption.key (0600)
HOME/owner.token      the owner API's bearer token (0600)
HOME/key-cache.json   peers' keys, so the node still verifies known peers with every
                      registry down
HOME/node.sqlite      the database, unless node.toml names a PostgreSQL URL
"""

from __future__ import annotations

import enum
import json
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from supplymesh.adapters.keyfiles import (
    ENCRYPTION_KEY_FILE,
    SIGNING_KEY_FILE,
    KeyFileError,
    create_key_pair_files,
    load_encryption_key,
    load_signing_key,
    read_private_key,
    write_private_key,
)
from supplymesh.domain.ranking import parse_weights
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair

CONFIG_FILE = "node.toml"
TOKEN_FILE = "owner.token"  # noqa: S105 - a file name
KEY_CACHE_FILE = "key-cache.json"


class NodeRole(enum.StrEnum):
    """What a node does: sell (BPP), buy (BAP), or both."""

    BPP = "bpp"
    BAP = "bap"
    BOTH = "both"

    @property
    def sells(self) -> bool:
        """True for a seller node."""
        return self in (NodeRole.BPP, NodeRole.BOTH)

    @property
    def buys(self) -> bool:
        """True for a buyer node."""
        return self in (NodeRole.BAP, NodeRole.BOTH)


class NodeHomeError(Exception):
    """A node home is missing, incomplete or invalid; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Who the node is and where it trades."""

    subscriber_id: str
    role: NodeRole
    domain: str
    city: str
    country: str
    url: str
    registries: tuple[str, ...]
    db_url: str
    unique_key_id: str
    display_name: str = ""
    support_email: str = ""
    delivery_charge: str = "0"
    tax_percent: str = "0"
    # Delivery tuning (None: the dispatcher's defaults). Tests and demos shorten the waits.
    retry_base_delay: float | None = None
    retry_max_delay: float | None = None
    breaker_threshold: int | None = None
    breaker_cooldown: float | None = None
    delivery_lease: float | None = None
    # Buying: gateways to search through (direct fan-out when empty or all down), the
    # buyer's ranking weights ("price=0.5,delivery=0.3", over the defaults) and its GPS.
    gateways: tuple[str, ...] = ()
    weights: str = ""
    gps: str = ""
    # Seconds between incremental catalog pulls from every seller (0: never; buyers only).
    catalog_refresh: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)


def _toml_value(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _positive(data: dict[str, object], name: str) -> float | None:
    """An optional positive number from node.toml."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return float(value)


def _weights(text: str) -> str:
    """The ranking weights setting, checked now rather than at the first search."""
    if text:
        parse_weights(text)  # raises WeightsError (a ValueError) naming the fault
    return text


def _whole(value: float | None) -> int | None:
    return None if value is None else max(1, int(value))


@dataclass(frozen=True, slots=True)
class NodeHome:
    """The files of one node."""

    path: Path

    @property
    def config_path(self) -> Path:
        """HOME/node.toml."""
        return self.path / CONFIG_FILE

    @property
    def keys_path(self) -> Path:
        """HOME/keys."""
        return self.path / "keys"

    @property
    def key_cache_path(self) -> Path:
        """HOME/key-cache.json."""
        return self.path / KEY_CACHE_FILE

    def create(self, config: NodeConfig, key_id: Callable[[SigningKeyPair], str]) -> NodeConfig:
        """Write a new home (keys, owner token, config); ``key_id`` names the new key."""
        if self.config_path.exists():
            raise NodeHomeError(f"{self.config_path} exists; a node home is created once")
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            signing, _ = create_key_pair_files(self.keys_path)
        except KeyFileError as exc:
            raise NodeHomeError(str(exc)) from None
        config = replace(config, unique_key_id=config.unique_key_id or key_id(signing))
        write_private_key(self.path / TOKEN_FILE, secrets.token_urlsafe(32))
        lines = [
            f"{name} = {_toml_value(getattr(config, name))}"
            for name in NodeConfig.__dataclass_fields__
            if name != "extra" and getattr(config, name) is not None
        ]
        self.config_path.write_text("# supplymesh node\n" + "\n".join(lines) + "\n")
        return config

    def load(self) -> NodeConfig:
        """Read node.toml."""
        try:
            data = tomllib.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise NodeHomeError(
                f"{self.path} is not a node home (no {CONFIG_FILE}); run supplymesh node init"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise NodeHomeError(f"{self.config_path} is not valid TOML: {exc}") from None
        try:
            return NodeConfig(
                subscriber_id=data["subscriber_id"],
                role=NodeRole(data["role"]),
                domain=data["domain"],
                city=data["city"],
                country=data["country"],
                url=data["url"],
                registries=tuple(data["registries"]),
                db_url=data["db_url"],
                unique_key_id=data["unique_key_id"],
                display_name=data.get("display_name", ""),
                support_email=data.get("support_email", ""),
                delivery_charge=data.get("delivery_charge", "0"),
                tax_percent=data.get("tax_percent", "0"),
                retry_base_delay=_positive(data, "retry_base_delay"),
                retry_max_delay=_positive(data, "retry_max_delay"),
                breaker_threshold=_whole(_positive(data, "breaker_threshold")),
                breaker_cooldown=_positive(data, "breaker_cooldown"),
                delivery_lease=_positive(data, "delivery_lease"),
                gateways=tuple(data.get("gateways", ())),
                weights=_weights(data.get("weights", "")),
                gps=data.get("gps", ""),
                catalog_refresh=float(data.get("catalog_refresh", 30.0)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise NodeHomeError(f"{self.config_path}: missing or invalid setting {exc}") from None

    def signing_key(self) -> SigningKeyPair:
        """The node's Ed25519 key pair."""
        return load_signing_key(self.keys_path / SIGNING_KEY_FILE)

    def encryption_key(self) -> EncryptionKeyPair:
        """The node's X25519 key pair."""
        return load_encryption_key(self.keys_path / ENCRYPTION_KEY_FILE)

    def owner_token(self) -> str:
        """The owner API's bearer token."""
        return read_private_key(self.path / TOKEN_FILE)

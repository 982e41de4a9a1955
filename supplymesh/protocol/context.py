"""The Beckn ``context``: who is talking to whom, about which transaction, and until when.

Two shapes are alive on real networks (``beckn-facts.md`` section 1):

- Beckn 1.0/1.1: ``location: {city: {code}, country: {code}}`` and ``version``;
- Beckn 0.9 / ONDC retail and logistics 1.x: ``city`` and ``country`` as strings and
  ``core_version``.

:class:`Context` decodes both and says which one it holds; :func:`to_shape` rewrites a context
tree into the shape the peer's network expects. Time is always passed in.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from supplymesh.protocol.actions import Action
from supplymesh.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError

CORE_VERSION = "1.1.0"
DEFAULT_TTL = "PT30S"

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
# Patterns end in \Z, not $: Python's $ also matches before a final newline ("PT30S\n").
Duration = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?\Z",
        description="ISO 8601 duration, e.g. PT30S",
    ),
]

_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)


class ContextShape(enum.StrEnum):
    """Which context layout a network speaks."""

    CURRENT = "1.x"  # Beckn 1.0 / 1.1: location + version
    LEGACY = "0.9"  # Beckn 0.9, ONDC retail/logistics 1.x: city, country, core_version


# gc=False: a decoded body makes a thousand of these, and frozen views of JSON cannot form
# reference cycles, so the cycle collector need not track them (msgspec docs, "gc").
class _Obj(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True, gc=False):
    pass


class City(_Obj, frozen=True):
    """A city: ``code`` is the network's city code (ONDC: ``std:080``)."""

    name: str | None = None
    code: str | None = None


class Country(_Obj, frozen=True):
    """A country: ``code`` is ISO 3166 alpha-3 on ONDC (``IND``)."""

    name: str | None = None
    code: str | None = None


class ContextLocation(_Obj, frozen=True):
    """Where the transaction happens."""

    city: City | None = None
    country: Country | None = None


class Context(_Obj, frozen=True):
    """A message's context. Only ``action`` is required by the 1.1 schema; see :func:`require`."""

    action: str
    domain: str | None = None
    location: ContextLocation | None = None
    version: str | None = None
    bap_id: str | None = None
    bap_uri: str | None = None
    bpp_id: str | None = None
    bpp_uri: str | None = None
    transaction_id: str | None = None
    message_id: str | None = None
    timestamp: AwareDatetime | None = None
    key: str | None = None
    ttl: Duration | None = None
    # Beckn 0.9 / ONDC 1.x fields, read as they come.
    city: str | None = None
    country: str | None = None
    core_version: str | None = None

    @property
    def shape(self) -> ContextShape:
        """The layout this context arrived in."""
        legacy = self.location is None and (self.city is not None or self.core_version is not None)
        return ContextShape.LEGACY if legacy else ContextShape.CURRENT

    @property
    def city_code(self) -> str | None:
        """The city code, whichever shape carried it."""
        if self.location is not None and self.location.city is not None:
            return self.location.city.code
        return self.city

    @property
    def country_code(self) -> str | None:
        """The country code, whichever shape carried it."""
        if self.location is not None and self.location.country is not None:
            return self.location.country.code
        return self.country

    @property
    def protocol_version(self) -> str | None:
        """``version`` (1.x) or ``core_version`` (0.9 / ONDC)."""
        return self.version if self.version is not None else self.core_version

    @property
    def ttl_seconds(self) -> float:
        """The ttl in seconds (PT30S when absent)."""
        return duration_seconds(self.ttl or DEFAULT_TTL)

    def expires_at(self) -> datetime | None:
        """When the message stops being valid: timestamp + ttl."""
        if self.timestamp is None:
            return None
        try:
            return self.timestamp + timedelta(seconds=self.ttl_seconds)
        except OverflowError:  # a ttl reaching past the year 9999 never runs out
            return datetime.max.replace(tzinfo=UTC)

    @property
    def sender_id(self) -> str | None:
        """Who speaks: bap_id on a request, bpp_id on a callback (the signer must match it)."""
        return self.bpp_id if self.action.startswith("on_") else self.bap_id


def duration_seconds(text: str) -> float:
    """Seconds in an ISO 8601 duration (years as 365 days, months as 30)."""
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    years, months, weeks, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return (
        (years * 365 + months * 30 + weeks * 7 + days) * 86400
        + hours * 3600
        + minutes * 60
        + seconds
    )


def seconds_duration(seconds: int) -> str:
    """An ISO 8601 duration for whole seconds: 30 -> PT30S."""
    if seconds < 0:
        raise LocalProtocolError(f"a duration cannot be negative: {seconds}")
    return f"PT{seconds}S"


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z``, as Beckn's examples write it."""
    if moment.tzinfo is None:
        raise LocalProtocolError("timestamps on the wire must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_REQUIRED_FOR_ROUTING = ("domain", "bap_id", "bap_uri", "transaction_id", "message_id", "timestamp")


def require(context: Context) -> None:
    """Refuse a context that lacks what any exchange needs to be routed and deduplicated."""
    for name in _REQUIRED_FOR_ROUTING:
        if getattr(context, name) is None:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST, f"context.{name} is required", f"$.context.{name}"
            )
    if context.action.startswith("on_"):
        for name in ("bpp_id", "bpp_uri"):
            if getattr(context, name) is None:
                raise ProtocolError(
                    ErrorCode.INVALID_REQUEST,
                    f"context.{name} is required on a callback",
                    f"$.context.{name}",
                )


def check_fresh(context: Context, now: datetime, skew_seconds: int = 5) -> None:
    """Refuse a request whose timestamp + ttl has passed, or whose timestamp is in the future."""
    if context.timestamp is None:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, "context.timestamp is required", "$.context.timestamp"
        )
    skew = timedelta(seconds=skew_seconds)
    if context.timestamp > now + skew:
        ahead = (context.timestamp - now).total_seconds()
        raise ProtocolError(
            ErrorCode.STALE_REQUEST,
            f"context.timestamp is {ahead:.0f} s in the future (allowed skew {skew_seconds} s)",
            "$.context.timestamp",
        )
    expires = context.expires_at()
    if expires is not None and expires < now - skew:
        late = (now - expires).total_seconds()
        raise ProtocolError(
            ErrorCode.STALE_REQUEST,
            f"the request's ttl ({context.ttl or DEFAULT_TTL}) ran out {late:.0f} s ago",
            "$.context.ttl",
        )


def new_context(
    action: Action | str,
    *,
    now: datetime,
    domain: str,
    bap_id: str,
    bap_uri: str,
    city: str | None = None,
    country: str | None = None,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    transaction_id: str | None = None,
    message_id: str | None = None,
    ttl: str = DEFAULT_TTL,
    version: str = CORE_VERSION,
) -> Context:
    """A fresh request context; ids are random UUIDs unless given."""
    location = None
    if city is not None or country is not None:
        location = ContextLocation(
            city=City(code=city) if city is not None else None,
            country=Country(code=country) if country is not None else None,
        )
    return Context(
        action=str(action),
        domain=domain,
        location=location,
        version=version,
        bap_id=bap_id,
        bap_uri=bap_uri,
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
        transaction_id=transaction_id or str(uuid.uuid4()),
        message_id=message_id or str(uuid.uuid4()),
        timestamp=now.astimezone(UTC),
        ttl=ttl,
    )


def callback_context(
    request: Context,
    *,
    now: datetime,
    bpp_id: str,
    bpp_uri: str,
    unsolicited: bool = False,
) -> Context:
    """The context answering ``request``: same ids, and a new message_id if unsolicited."""
    try:
        action = Action(request.action)
    except ValueError:
        raise LocalProtocolError(f"unknown action {request.action!r}") from None
    if action.is_callback:
        raise LocalProtocolError(f"{action.value} is a callback; it has no callback of its own")
    return msgspec.structs.replace(
        request,
        action=str(action.callback),
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
        timestamp=now.astimezone(UTC),
        message_id=str(uuid.uuid4()) if unsolicited else request.message_id,
    )


def to_shape(tree: dict[str, Any], shape: ContextShape) -> dict[str, Any]:
    """A copy of a context tree in ``shape``; unknown fields are kept as they are."""
    out = dict(tree)
    if shape is ContextShape.LEGACY:
        location = out.pop("location", None)
        if isinstance(location, dict):
            city, country = location.get("city"), location.get("country")
            if isinstance(city, dict) and "code" in city:
                out.setdefault("city", city["code"])
            if isinstance(country, dict) and "code" in country:
                out.setdefault("country", country["code"])
        if "version" in out:
            out.setdefault("core_version", out.pop("version"))
        return out
    city, country = out.pop("city", None), out.pop("country", None)
    if city is not None or country is not None:
        location = dict(out.get("location") or {})
        if city is not None:
            location.setdefault("city", {"code": city})
        if country is not None:
            location.setdefault("country", {"code": country})
        out["location"] = location
    if "core_version" in out:
        out.setdefault("version", out.pop("core_version"))
    return out

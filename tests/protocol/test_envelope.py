"""Beckn bodies: decode and encode every action in both context shapes, and refuse bad input."""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import (
    Context,
    ContextShape,
    callback_context,
    check_fresh,
    duration_seconds,
    format_timestamp,
    new_context,
    require,
    seconds_duration,
)
from supplymesh.protocol.envelope import Envelope, decode, encode, envelope, expected_signer
from supplymesh.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError
from supplymesh.protocol.messages import (
    CancelMessage,
    OnRatingMessage,
    OnSearchMessage,
    OnTrackMessage,
    OptionalOrderMessage,
    OrderMessage,
    RatingMessage,
    SearchMessage,
    StatusMessage,
    SupportMessage,
    TrackMessage,
    UpdateMessage,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CURRENT_BODIES = sorted((FIXTURES / "bodies").glob("*.json"))
LEGACY_BODIES = sorted((FIXTURES / "bodies_legacy").glob("*.json"))
ALL_BODIES = CURRENT_BODIES + LEGACY_BODIES
ON_SEARCH = (FIXTURES / "bodies" / "on_search.json").read_bytes()
MB = 1024 * 1024

MESSAGE_TYPE = {
    "search": SearchMessage,
    "select": OrderMessage,
    "init": OrderMessage,
    "confirm": OrderMessage,
    "status": StatusMessage,
    "track": TrackMessage,
    "update": UpdateMessage,
    "cancel": CancelMessage,
    "rating": RatingMessage,
    "support": SupportMessage,
    "on_search": OnSearchMessage,
    "on_select": OptionalOrderMessage,
    "on_init": OrderMessage,
    "on_confirm": OrderMessage,
    "on_status": OrderMessage,
    "on_track": OnTrackMessage,
    "on_update": OrderMessage,
    "on_cancel": OrderMessage,
    "on_rating": OnRatingMessage,
    "on_support": SupportMessage,
}
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def ids(paths: list[Path]) -> list[str]:
    """Readable test ids: folder/file."""
    return [f"{p.parent.name}/{p.name}" for p in paths]


def load(path: Path) -> tuple[bytes, Any]:
    """A fixture's bytes and its JSON value."""
    raw = path.read_bytes()
    return raw, json.loads(raw)


def instants(value: Any) -> Any:
    """The value with RFC 3339 strings read as instants, so .318Z equals .318000Z."""
    if isinstance(value, dict):
        return {key: instants(item) for key, item in value.items()}
    if isinstance(value, list):
        return [instants(item) for item in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def assert_read_from(typed: Any, raw: Any, path: str = "$") -> None:
    """Every value the typed view holds is the value at the same JSON path of the raw body."""
    if isinstance(typed, dict):
        assert isinstance(raw, dict), path
        for key, value in typed.items():
            assert key in raw, f"{path}.{key} is in the typed view but not in the body"
            assert_read_from(value, raw[key], f"{path}.{key}")
    elif isinstance(typed, list | tuple):
        assert isinstance(raw, list), path
        assert len(typed) == len(raw), path
        for index, (item, raw_item) in enumerate(zip(typed, raw, strict=True)):
            assert_read_from(item, raw_item, f"{path}[{index}]")
    else:
        assert instants(typed) == instants(raw), path


def with_value(tree: Any, path: list[str | int], value: Any) -> Any:
    """A deep copy of ``tree`` with ``value`` at ``path``."""
    changed = copy.deepcopy(tree)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def refusal(raw: bytes, **kwargs: Any) -> ProtocolError:
    """The ProtocolError that decoding ``raw`` raises (exactly that type or a subclass)."""
    with pytest.raises(ProtocolError) as caught:
        decode(raw, **kwargs)
    return caught.value


# Round trips of the fixtures.


@pytest.mark.parametrize("path", ALL_BODIES, ids=ids(ALL_BODIES))
def test_decode_then_encode_gives_the_same_json_value(path: Path) -> None:
    """Every fixture, unknown fields included, comes back as the value it went in as."""
    raw, tree = load(path)
    assert json.loads(encode(decode(raw))) == tree


@pytest.mark.parametrize("path", ALL_BODIES, ids=ids(ALL_BODIES))
def test_the_typed_view_reads_the_right_fields(path: Path) -> None:
    """action, ids, city and country (either shape), and the message type per action."""
    raw, tree = load(path)
    env = decode(raw)
    context = tree["context"]
    assert env.action == Action(context["action"]) == Action(path.stem.removesuffix("_50"))
    for name in ("domain", "bap_id", "bap_uri", "bpp_id", "transaction_id", "message_id"):
        assert getattr(env.context, name) == context.get(name), name
    if "location" in context:
        assert env.context.shape is ContextShape.CURRENT
        assert env.context.city_code == context["location"]["city"]["code"]
        assert env.context.country_code == context["location"]["country"]["code"]
        assert env.context.protocol_version == context["version"] == "1.1.0"
    else:
        assert env.context.shape is ContextShape.LEGACY
        assert env.context.city_code == context["city"] == "std:080"
        assert env.context.country_code == context["country"] == "IND"
        assert env.context.protocol_version == context["core_version"] == "1.2.0"
    assert env.context.timestamp == datetime.fromisoformat(context["timestamp"])
    assert env.context.timestamp is not None
    assert env.context.timestamp.utcoffset() == timedelta(0)
    assert type(env.message) is MESSAGE_TYPE[context["action"]]
    assert_read_from(msgspec.to_builtins(env.message), tree["message"], "$.message")
    assert_read_from(msgspec.to_builtins(env.context), context, "$.context")


def test_typed_views_read_catalog_order_and_tags() -> None:
    """Spot checks: providers and items, ONDC's bpp/ catalog keys, tags, order and quote."""
    on_search = decode(ON_SEARCH).message
    assert isinstance(on_search, OnSearchMessage)
    provider = on_search.catalog.all_providers[0]
    assert provider.items is not None
    assert provider.items[0].price is not None
    assert provider.items[0].price.currency == "INR"
    legacy = decode((FIXTURES / "bodies_legacy" / "on_search.json").read_bytes()).message
    assert isinstance(legacy, OnSearchMessage)
    assert legacy.catalog.providers is None
    assert legacy.catalog.all_providers[0].id == "P-TAJLW"
    search = decode((FIXTURES / "bodies" / "search.json").read_bytes()).message
    assert isinstance(search, SearchMessage)
    assert search.intent is not None
    assert search.intent.item is not None
    assert search.intent.item.tags is not None
    assert search.intent.item.tags[0].key == "MATERIAL"
    assert search.intent.item.tags[0].get("SOLE") == "rubber"
    assert search.intent.item.tags[0].get("HEEL") is None
    confirm = decode((FIXTURES / "bodies" / "confirm.json").read_bytes()).message
    assert isinstance(confirm, OrderMessage)
    assert confirm.order.quote is not None
    assert confirm.order.quote.price is not None
    assert confirm.order.quote.price.value == "758622.00"
    status = decode((FIXTURES / "bodies" / "status.json").read_bytes()).message
    assert status == StatusMessage(order_id="TLW-PO-2024-00871")


# Unknown fields.


UNKNOWN_FIELDS: list[tuple[str, list[str | int]]] = [
    ("search.json", ["context", "max_callbacks"]),
    ("confirm.json", ["context", "x-request-trace"]),
    ("init.json", ["message", "order", "billing", "@supplymesh/msme_udyam"]),
    ("on_search.json", ["message", "catalog", "providers", 0, "items", 0, "x-vendor-ext"]),
    ("on_confirm.json", ["message", "order", "quote", "breakup", 0, "@ondc/org/title_type"]),
    ("on_track.json", ["message", "tracking", "location", "updated_at"]),
]


def _at(tree: Any, path: list[str | int]) -> Any:
    for step in path:
        tree = tree[step]
    return tree


@pytest.mark.parametrize(("name", "path"), UNKNOWN_FIELDS, ids=[n for n, _ in UNKNOWN_FIELDS])
def test_unknown_fields_survive_the_pristine_path(name: str, path: list[str | int]) -> None:
    """A field no schema of ours models is in the bytes encode writes, unchanged."""
    raw, tree = load(FIXTURES / "bodies" / name)
    assert _at(json.loads(encode(decode(raw))), path) == _at(tree, path)


@pytest.mark.parametrize("path", ALL_BODIES, ids=ids(ALL_BODIES))
def test_unknown_fields_survive_a_replaced_context(path: Path) -> None:
    """After replace() with a new message_id only that id changes; every other field stays."""
    raw, tree = load(path)
    env = decode(raw)
    new_id = str(uuid.uuid4())
    changed = env.replace(context=msgspec.structs.replace(env.context, message_id=new_id))
    out = json.loads(encode(changed))
    assert out["context"]["message_id"] == new_id
    assert instants(out) == instants(with_value(tree, ["context", "message_id"], new_id))


def test_unknown_fields_survive_a_replaced_message() -> None:
    """Replacing the typed message keeps extension keys inside items it still holds."""
    raw, tree = load(FIXTURES / "bodies" / "on_search.json")
    env = decode(raw)
    assert isinstance(env.message, OnSearchMessage)
    catalog = msgspec.structs.replace(env.message.catalog, ttl="PT1H")
    out = json.loads(encode(env.replace(message=OnSearchMessage(catalog=catalog))))
    assert out["message"]["catalog"]["ttl"] == "PT1H"
    item = out["message"]["catalog"]["providers"][0]["items"][0]
    assert (
        item["x-vendor-ext"]
        == tree["message"]["catalog"]["providers"][0]["items"][0]["x-vendor-ext"]
    )


# Context shapes.


@pytest.mark.parametrize("path", CURRENT_BODIES, ids=ids(CURRENT_BODIES))
def test_legacy_encoding_of_a_current_body_and_back(path: Path) -> None:
    """shape=LEGACY writes city/country strings and core_version; CURRENT restores the body."""
    raw, tree = load(path)
    legacy_raw = encode(decode(raw), ContextShape.LEGACY)
    legacy = json.loads(legacy_raw)
    context = legacy["context"]
    assert "location" not in context
    assert "version" not in context
    assert context["city"] == tree["context"]["location"]["city"]["code"]
    assert context["country"] == tree["context"]["location"]["country"]["code"]
    assert context["core_version"] == "1.1.0"
    back = decode(legacy_raw)
    assert back.context.shape is ContextShape.LEGACY
    assert back.context.city_code == tree["context"]["location"]["city"]["code"]
    assert json.loads(encode(back, ContextShape.CURRENT)) == tree


def test_legacy_encoding_of_on_search_prefixes_the_catalog_keys() -> None:
    """ONDC's 1.x on_search carries bpp/providers, bpp/descriptor and bpp/fulfillments."""
    legacy = json.loads(encode(decode(ON_SEARCH), ContextShape.LEGACY))
    catalog = legacy["message"]["catalog"]
    assert {"bpp/providers", "bpp/descriptor", "bpp/fulfillments"} <= set(catalog)
    assert not {"providers", "descriptor", "fulfillments"} & set(catalog)
    original = json.loads(ON_SEARCH)["message"]["catalog"]
    assert catalog["bpp/providers"] == original["providers"]


@pytest.mark.parametrize("path", LEGACY_BODIES, ids=ids(LEGACY_BODIES))
def test_current_encoding_of_a_legacy_body_and_back(path: Path) -> None:
    """shape=CURRENT writes location and version; LEGACY restores the body exactly."""
    raw, tree = load(path)
    current_raw = encode(decode(raw), ContextShape.CURRENT)
    current = json.loads(current_raw)
    assert current["context"]["location"] == {
        "city": {"code": tree["context"]["city"]},
        "country": {"code": tree["context"]["country"]},
    }
    assert current["context"]["version"] == tree["context"]["core_version"]
    assert not {"city", "country", "core_version"} & set(current["context"])
    if "catalog" in tree["message"]:
        assert "providers" in current["message"]["catalog"]
        assert "bpp/providers" not in current["message"]["catalog"]
    back = decode(current_raw)
    assert back.context.shape is ContextShape.CURRENT
    assert json.loads(encode(back, ContextShape.LEGACY)) == tree


def test_encoding_in_the_shape_a_body_already_has_changes_nothing() -> None:
    """Asking for the shape a body is in gives the same value."""
    env = decode(ON_SEARCH)
    assert json.loads(encode(env, ContextShape.CURRENT)) == json.loads(ON_SEARCH)


# Bad input: only ProtocolError, with a code, a path and a reason.


def _deep(path: list[str | int], value: Any) -> bytes:
    return json.dumps(with_value(json.loads(ON_SEARCH), path, value)).encode()


ITEM = ["message", "catalog", "providers", 0, "items", 0]
ITEM_PATH = "$.message.catalog.providers[0].items[0]"
ON_SEARCH_TREE = json.loads(ON_SEARCH)

BAD_INPUT: list[tuple[str, bytes, ErrorCode, str, str]] = [
    ("truncated", ON_SEARCH[:200], ErrorCode.MALFORMED_JSON, "", "truncated"),
    ("empty", b"", ErrorCode.MALFORMED_JSON, "", "not valid UTF-8 JSON"),
    ("not-utf8-at-start", b"\xff\xfe{}", ErrorCode.MALFORMED_JSON, "", "UTF-8"),
    (
        "not-utf8-in-a-string",
        b'{"context":{"action":"search\xff"},"message":{}}',
        ErrorCode.MALFORMED_JSON,
        "",
        "UTF-8",
    ),
    (
        "lone-surrogate-escape",
        b'{"context":{"action":"\\ud800"},"message":{}}',
        ErrorCode.MALFORMED_JSON,
        "",
        "surrogate",
    ),
    ("top-level-array", b"[1,2,3]", ErrorCode.SCHEMA_VIOLATION, "$", "not an array"),
    ("top-level-string", b'"search"', ErrorCode.SCHEMA_VIOLATION, "$", "not a string"),
    ("top-level-null", b"null", ErrorCode.SCHEMA_VIOLATION, "$", "JSON object"),
    ("missing-context", b'{"message":{}}', ErrorCode.SCHEMA_VIOLATION, "$.context", "required"),
    ("null-context", b'{"context":null}', ErrorCode.SCHEMA_VIOLATION, "$.context", "required"),
    (
        "context-without-action",
        b'{"context":{"domain":"x"},"message":{}}',
        ErrorCode.SCHEMA_VIOLATION,
        "$.context",
        "action",
    ),
    (
        "unknown-action",
        b'{"context":{"action":"frobnicate"},"message":{}}',
        ErrorCode.ACTION_NOT_APPLICABLE,
        "$.context.action",
        "frobnicate",
    ),
    (
        "action-not-a-string",
        b'{"context":{"action":5},"message":{}}',
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.action",
        "str",
    ),
    (
        "request-without-message",
        b'{"context":{"action":"search"}}',
        ErrorCode.SCHEMA_VIOLATION,
        "$.message",
        "required on search",
    ),
    (
        "status-without-order-id",
        b'{"context":{"action":"status"},"message":{}}',
        ErrorCode.SCHEMA_VIOLATION,
        "$.message",
        "order_id",
    ),
    (
        "numeric-price",
        _deep([*ITEM, "price", "value"], 136.0),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.price.value",
        "str",
    ),
    (
        "integer-price",
        _deep([*ITEM, "price", "value"], 136),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.price.value",
        "int",
    ),
    (
        "price-not-a-decimal",
        _deep([*ITEM, "price", "value"], "136,00"),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.price.value",
        "regex",
    ),
    (
        "name-of-the-wrong-type",
        _deep([*ITEM, "descriptor", "name"], ["a"]),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.descriptor.name",
        "array",
    ),
    (
        "tag-value-of-the-wrong-type",
        _deep([*ITEM, "tags", 0, "list", 0, "value"], {"x": 1}),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.tags[0].list[0].value",
        "object",
    ),
    (
        "items-not-an-array",
        _deep(["message", "catalog", "providers", 0, "items"], {"id": "x"}),
        ErrorCode.SCHEMA_VIOLATION,
        "$.message.catalog.providers[0].items",
        "array",
    ),
    (
        "huge-integer-count",
        _deep([*ITEM, "quantity", "available", "count"], 10**400),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.quantity.available.count",
        "",
    ),
    (
        "negative-count",
        _deep([*ITEM, "quantity", "available", "count"], -1),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.quantity.available.count",
        ">= 0",
    ),
    (
        "fractional-count",
        _deep([*ITEM, "quantity", "available", "count"], 1.5),
        ErrorCode.SCHEMA_VIOLATION,
        f"{ITEM_PATH}.quantity.available.count",
        "float",
    ),
    (
        "number-beyond-float-range",
        b'{"context":{"action":"search","x":1e999},"message":{}}',
        ErrorCode.MALFORMED_JSON,
        "$",
        "out of range",
    ),
    (
        "number-beyond-float-range-in-an-array",
        b'{"context":{"action":"search"},"message":{"a":[0,[1e999]]}}',
        ErrorCode.MALFORMED_JSON,
        "$",
        "out of range",
    ),
    (
        "arrays-nested-100000-deep",
        b'{"context":{"action":"search"},"message":{"intent":{"tags":'
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}}",
        ErrorCode.MALFORMED_JSON,
        "",
        "nested too deeply",
    ),
    (
        "objects-nested-100000-deep",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        ErrorCode.MALFORMED_JSON,
        "",
        "nested too deeply",
    ),
    (
        "naive-timestamp",
        _deep(["context", "timestamp"], "2024-11-18T09:00:02.318"),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.timestamp",
        "timezone",
    ),
    (
        "timestamp-not-a-date",
        _deep(["context", "timestamp"], "yesterday"),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.timestamp",
        "datetime",
    ),
    (
        "ttl-in-words",
        _deep(["context", "ttl"], "30 seconds"),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.ttl",
        "regex",
    ),
    (
        "ttl-without-a-number",
        _deep(["context", "ttl"], "PT"),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.ttl",
        "regex",
    ),
    (
        "ttl-with-a-trailing-newline",
        _deep(["context", "ttl"], "PT30S\n"),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.ttl",
        "regex",
    ),
    (
        "ttl-a-number",
        _deep(["context", "ttl"], 30),
        ErrorCode.SCHEMA_VIOLATION,
        "$.context.ttl",
        "int",
    ),
    (
        "error-code-a-number",
        b'{"context":{"action":"on_select"},"error":{"code":5}}',
        ErrorCode.SCHEMA_VIOLATION,
        "$.error.code",
        "int",
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "path", "reason"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_raises_protocol_error_with_code_path_and_reason(
    raw: bytes, code: ErrorCode, path: str, reason: str
) -> None:
    """Each kind of bad body is one ProtocolError naming its code, JSON path and cause."""
    error = refusal(raw)
    assert error.code is code
    assert error.path == path
    assert reason in error.message
    assert error.message.strip()
    assert str(error).startswith(code.code)


def test_a_10_mb_body_over_a_1_mb_limit_is_body_too_large() -> None:
    """The size check comes first, and the message gives both sizes."""
    raw = b'{"context":{"action":"search"},"message":{},"pad":"' + b"x" * (10 * MB) + b'"}'
    error = refusal(raw, max_bytes=MB)
    assert error.code is ErrorCode.BODY_TOO_LARGE
    assert f"{len(raw)} bytes" in error.message
    assert f"{MB} bytes" in error.message


def test_a_body_exactly_at_the_limit_is_read() -> None:
    """max_bytes is inclusive."""
    assert decode(ON_SEARCH, max_bytes=len(ON_SEARCH)).action is Action.ON_SEARCH
    assert refusal(ON_SEARCH, max_bytes=len(ON_SEARCH) - 1).code is ErrorCode.BODY_TOO_LARGE


def test_a_callback_may_carry_an_error_instead_of_a_message() -> None:
    """An on_select with only an error decodes, with the error typed."""
    env = decode(b'{"context":{"action":"on_select"},"error":{"code":"40002","message":"none"}}')
    assert env.message is None
    assert env.error is not None
    assert env.error.code == "40002"


@pytest.mark.parametrize("expected", [Action.SEARCH, "search", "on_select"])
def test_an_action_differing_from_the_endpoint_is_action_mismatch(expected: Action | str) -> None:
    """An on_search posted to another endpoint is refused as ACTION_MISMATCH."""
    error = refusal(ON_SEARCH, expected_action=expected)
    assert error.code is ErrorCode.ACTION_MISMATCH
    assert error.path == "$.context.action"
    assert "on_search" in error.message


@pytest.mark.parametrize("expected", [Action.ON_SEARCH, "on_search"])
def test_an_action_matching_the_endpoint_passes(expected: Action | str) -> None:
    """The endpoint's action, as enum or text, lets the body through."""
    assert decode(ON_SEARCH, expected_action=expected).action is Action.ON_SEARCH


# Fuzzing.


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


def _encode_any(value: Any, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8


def _decode_or_refuse(raw: bytes) -> Envelope | None:
    """Decode, accepting only ProtocolError; a body that decodes must encode and decode again."""
    refused: ProtocolError | None = None
    try:
        env = decode(raw)
    except ProtocolError as error:
        refused = error
    if refused is not None:
        assert isinstance(refused.code, ErrorCode)
        assert refused.message
        assert refused.path == "" or refused.path.startswith("$")
        return None
    again = decode(encode(env))
    assert again.context == env.context
    assert again.message == env.message
    return env


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_only_raise_protocol_error(raw: bytes) -> None:
    """Random bytes never raise anything but ProtocolError."""
    _decode_or_refuse(raw)


@settings(max_examples=300, deadline=None)
@given(value=json_values, ascii_only=st.booleans())
def test_arbitrary_json_values_only_raise_protocol_error(value: Any, ascii_only: bool) -> None:
    """Any JSON-ish value as a body never raises anything but ProtocolError."""
    _decode_or_refuse(_encode_any(value, ascii_only))


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from([a.value for a in Action] + ["lookup", ""]),
    context=st.dictionaries(
        st.sampled_from(["domain", "timestamp", "ttl", "location", "city", "bap_id", "x"]),
        json_values,
    ),
    message=json_values,
    error=json_values,
    ascii_only=st.booleans(),
)
def test_random_contexts_and_messages_only_raise_protocol_error(
    action: str, context: dict[str, Any], message: Any, error: Any, ascii_only: bool
) -> None:
    """Well-shaped bodies with random parts never raise anything but ProtocolError."""
    body = {"context": {**context, "action": action}, "message": message, "error": error}
    _decode_or_refuse(_encode_any(body, ascii_only))


def _paths(tree: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _paths(value, (*prefix, index))
    return found


FIXTURE_TREES = [json.loads(p.read_bytes()) for p in ALL_BODIES if p.name != "on_search_50.json"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=json_values)
def test_a_random_value_anywhere_in_a_real_body_only_raises_protocol_error(
    data: st.DataObject, value: Any
) -> None:
    """Replacing any field of a fixture by any JSON value decodes or is a ProtocolError."""
    tree = data.draw(st.sampled_from(FIXTURE_TREES), label="fixture")
    path = data.draw(st.sampled_from(_paths(tree)), label="path")
    _decode_or_refuse(json.dumps(with_value(tree, list(path), value)).encode())


# Context helpers.

T0 = datetime(2024, 11, 18, 9, 0, 0, tzinfo=UTC)


def _context(**fields: Any) -> Context:
    base: dict[str, Any] = {
        "action": "search",
        "domain": "supplymesh:MFG10",
        "bap_id": "bap.kadamfootwear.in",
        "bap_uri": "https://bap.kadamfootwear.in/beckn",
        "transaction_id": "t1",
        "message_id": "m1",
        "timestamp": T0,
        "ttl": "PT30S",
    }
    return Context(**{**base, **fields})


def test_check_fresh_accepts_until_ttl_plus_skew_runs_out() -> None:
    """timestamp + ttl + skew is the last fresh moment."""
    check_fresh(_context(), T0)
    check_fresh(_context(), T0 + timedelta(seconds=35))
    check_fresh(_context(), T0 - timedelta(seconds=5))


def test_check_fresh_refuses_a_stale_request_saying_by_how_much() -> None:
    """Past timestamp + ttl + skew is STALE_REQUEST at $.context.ttl."""
    with pytest.raises(ProtocolError) as caught:
        check_fresh(_context(), T0 + timedelta(seconds=45))
    assert caught.value.code is ErrorCode.STALE_REQUEST
    assert caught.value.path == "$.context.ttl"
    assert "PT30S" in caught.value.message
    assert "15 s ago" in caught.value.message


def test_check_fresh_refuses_a_timestamp_in_the_future() -> None:
    """A timestamp beyond the skew ahead of now is STALE_REQUEST at $.context.timestamp."""
    with pytest.raises(ProtocolError) as caught:
        check_fresh(_context(), T0 - timedelta(seconds=60))
    assert caught.value.code is ErrorCode.STALE_REQUEST
    assert caught.value.path == "$.context.timestamp"
    assert "60 s in the future" in caught.value.message


def test_check_fresh_needs_a_timestamp() -> None:
    """No timestamp is INVALID_REQUEST."""
    with pytest.raises(ProtocolError) as caught:
        check_fresh(_context(timestamp=None), T0)
    assert caught.value.code is ErrorCode.INVALID_REQUEST


def test_check_fresh_uses_the_default_ttl_when_none_is_given() -> None:
    """No ttl means PT30S."""
    check_fresh(_context(ttl=None), T0 + timedelta(seconds=35))
    with pytest.raises(ProtocolError):
        check_fresh(_context(ttl=None), T0 + timedelta(seconds=36))


def test_a_ttl_past_the_calendar_never_runs_out() -> None:
    """A decoded ttl of 10**20 years does not overflow: the request simply stays fresh."""
    raw = _deep(["context", "ttl"], "P99999999999999999999Y")
    context = decode(raw).context
    assert context.expires_at() == datetime.max.replace(tzinfo=UTC)
    assert context.timestamp is not None
    check_fresh(context, context.timestamp + timedelta(days=365))


@pytest.mark.parametrize("name", ["domain", "bap_id", "bap_uri", "transaction_id", "message_id"])
def test_require_names_the_missing_routing_field(name: str) -> None:
    """A context without a routing field is INVALID_REQUEST at its path."""
    with pytest.raises(ProtocolError) as caught:
        require(_context(**{name: None}))
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    assert caught.value.path == f"$.context.{name}"


def test_require_wants_the_seller_on_a_callback() -> None:
    """A callback must say which BPP answers."""
    require(_context())
    with pytest.raises(ProtocolError) as caught:
        require(_context(action="on_search"))
    assert caught.value.path == "$.context.bpp_id"
    require(_context(action="on_search", bpp_id="bpp.x", bpp_uri="https://bpp.x"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT30S", 30),
        ("PT1.5S", 1.5),
        ("PT1H30M", 5400),
        ("P1D", 86400),
        ("P1W", 7 * 86400),
        ("P1M", 30 * 86400),
        ("P1Y", 365 * 86400),
        ("P1DT2H", 86400 + 7200),
        ("P0D", 0),
    ],
)
def test_duration_seconds_reads_iso_8601_durations(text: str, seconds: float) -> None:
    """Years count 365 days and months 30."""
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "30S", "PT30", "pt30s", "PT-5S", "P1H"])
def test_duration_seconds_refuses_what_is_not_a_duration(text: str) -> None:
    """Malformed durations are a ValueError naming the text."""
    with pytest.raises(ValueError, match="ISO 8601"):
        duration_seconds(text)


def test_seconds_duration_and_format_timestamp_write_the_wire_forms() -> None:
    """30 -> PT30S; an aware time -> RFC 3339 UTC with milliseconds and Z."""
    assert seconds_duration(30) == "PT30S"
    ist = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2024, 11, 18, 14, 30, 2, 318_999, tzinfo=ist)
    assert format_timestamp(moment) == "2024-11-18T09:00:02.318Z"
    with pytest.raises(LocalProtocolError):
        seconds_duration(-1)
    with pytest.raises(LocalProtocolError):
        format_timestamp(datetime(2024, 1, 1))  # noqa: DTZ001 - the naive time under test


def test_new_context_fills_ids_time_and_location() -> None:
    """Fresh UUIDs unless given, the time in UTC, location from city and country."""
    ist = timezone(timedelta(hours=5, minutes=30))
    context = new_context(
        Action.SEARCH,
        now=datetime(2024, 11, 18, 14, 30, tzinfo=ist),
        domain="supplymesh:MFG10",
        bap_id="bap.kadamfootwear.in",
        bap_uri="https://bap.kadamfootwear.in/beckn",
        city="std:080",
        country="IND",
    )
    assert context.action == "search"
    assert context.timestamp == T0
    assert context.timestamp is not None
    assert context.timestamp.tzinfo is UTC
    assert (context.city_code, context.country_code) == ("std:080", "IND")
    assert (context.version, context.ttl, context.shape) == ("1.1.0", "PT30S", ContextShape.CURRENT)
    assert uuid.UUID(context.transaction_id or "")
    assert uuid.UUID(context.message_id or "")
    again = new_context(
        "search",
        now=T0,
        domain="d",
        bap_id="b",
        bap_uri="https://b",
        transaction_id="t1",
        message_id="m1",
    )
    assert (again.transaction_id, again.message_id, again.location) == ("t1", "m1", None)


def test_a_built_body_encodes_and_decodes_to_the_same_values() -> None:
    """envelope(new_context(...), message) survives encode and decode."""
    context = new_context(
        "status", now=T0, domain="supplymesh:MFG10", bap_id="bap.x", bap_uri="https://bap.x"
    )
    env = envelope(context, StatusMessage(order_id="PO-1"))
    back = decode(encode(env))
    assert back.context == context
    assert back.message == StatusMessage(order_id="PO-1")
    assert json.loads(encode(env))["context"]["timestamp"].startswith("2024-11-18T09:00:00")


def test_callback_context_keeps_the_ids_and_names_the_seller() -> None:
    """An answer carries the request's transaction_id and message_id, and the BPP's ids."""
    request = _context()
    later = T0 + timedelta(seconds=2)
    answer = callback_context(request, now=later, bpp_id="bpp.x", bpp_uri="https://bpp.x")
    assert answer.action == "on_search"
    assert (answer.transaction_id, answer.message_id) == ("t1", "m1")
    assert (answer.bpp_id, answer.bpp_uri, answer.timestamp) == ("bpp.x", "https://bpp.x", later)
    assert (answer.bap_id, answer.domain) == (request.bap_id, request.domain)
    assert expected_signer(answer) == "bpp.x"
    assert expected_signer(request) == request.bap_id


def test_an_unsolicited_callback_gets_a_new_message_id() -> None:
    """Pushed on_status calls keep the transaction but not the message_id (Beckn Context)."""
    request = _context(action="status")
    pushed = callback_context(
        request, now=T0, bpp_id="bpp.x", bpp_uri="https://bpp.x", unsolicited=True
    )
    assert pushed.action == "on_status"
    assert pushed.transaction_id == "t1"
    assert pushed.message_id != "m1"
    assert uuid.UUID(pushed.message_id or "")


@pytest.mark.parametrize("action", ["on_search", "lookup"])
def test_a_callback_has_no_callback_of_its_own(action: str) -> None:
    """callback_context of a callback, or of an unknown action, is our bug: LocalProtocolError."""
    with pytest.raises(LocalProtocolError):
        callback_context(_context(action=action), now=T0, bpp_id="b", bpp_uri="https://b")


def test_envelope_refuses_a_message_that_does_not_fit_the_action() -> None:
    """Building a body checks the message type, the action and that requests have a message."""
    with pytest.raises(LocalProtocolError, match="StatusMessage"):
        envelope(_context(), StatusMessage(order_id="x"))
    with pytest.raises(LocalProtocolError, match="unknown action"):
        envelope(_context(action="lookup"), StatusMessage(order_id="x"))
    with pytest.raises(LocalProtocolError, match="needs a message"):
        envelope(_context())
    assert envelope(_context(action="on_search")).message is None

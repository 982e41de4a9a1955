"""The ``message`` of each action, as Beckn core 1.1.0 lays it out (``transaction.yaml``)."""

from __future__ import annotations

from typing import Any

import msgspec

from supplymesh.protocol.actions import Action
from supplymesh.protocol.schema import (
    Catalog,
    Descriptor,
    Intent,
    Order,
    Rating,
    Support,
    Tracking,
)


# gc=False: a decoded body makes a thousand of these, and frozen views of JSON cannot form
# reference cycles, so the cycle collector need not track them (msgspec docs, "gc").
class _Msg(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True, gc=False):
    pass


class SearchMessage(_Msg, frozen=True):
    """``search``: what the buyer is looking for."""

    intent: Intent | None = None


class OnSearchMessage(_Msg, frozen=True):
    """``on_search``: the seller's catalog."""

    catalog: Catalog


class OrderMessage(_Msg, frozen=True):
    """``select`` / ``init`` / ``confirm`` and the callbacks that carry an order."""

    order: Order


class OptionalOrderMessage(_Msg, frozen=True):
    """``on_select``: the order is optional in the 1.1 schema."""

    order: Order | None = None


class StatusMessage(_Msg, frozen=True):
    """``status``: which order."""

    order_id: str


class TrackMessage(_Msg, frozen=True):
    """``track``: which order, and where to push live tracking."""

    order_id: str
    callback_url: str | None = None


class OnTrackMessage(_Msg, frozen=True):
    """``on_track``: where to follow the fulfillment."""

    tracking: Tracking


class CancelMessage(_Msg, frozen=True):
    """``cancel``: which order, and why."""

    order_id: str
    cancellation_reason_id: str | None = None
    descriptor: Descriptor | None = None


class UpdateMessage(_Msg, frozen=True):
    """``update``: which parts of the order change (``update_target``) and the new order."""

    update_target: str
    order: Order


class RatingMessage(_Msg, frozen=True):
    """``rating``: the buyer's ratings."""

    ratings: tuple[Rating, ...] | None = None


class OnRatingMessage(_Msg, frozen=True):
    """``on_rating``: optionally a feedback form."""

    feedback_form: dict[str, Any] | None = None


class SupportMessage(_Msg, frozen=True):
    """``support`` / ``on_support``: how to reach a human."""

    support: Support | None = None


Message = (
    SearchMessage
    | OnSearchMessage
    | OrderMessage
    | OptionalOrderMessage
    | StatusMessage
    | TrackMessage
    | OnTrackMessage
    | CancelMessage
    | UpdateMessage
    | RatingMessage
    | OnRatingMessage
    | SupportMessage
)

MESSAGE_TYPES: dict[Action, type[Message]] = {
    Action.SEARCH: SearchMessage,
    Action.ON_SEARCH: OnSearchMessage,
    Action.SELECT: OrderMessage,
    Action.ON_SELECT: OptionalOrderMessage,
    Action.INIT: OrderMessage,
    Action.ON_INIT: OrderMessage,
    Action.CONFIRM: OrderMessage,
    Action.ON_CONFIRM: OrderMessage,
    Action.STATUS: StatusMessage,
    Action.ON_STATUS: OrderMessage,
    Action.TRACK: TrackMessage,
    Action.ON_TRACK: OnTrackMessage,
    Action.UPDATE: UpdateMessage,
    Action.ON_UPDATE: OrderMessage,
    Action.CANCEL: CancelMessage,
    Action.ON_CANCEL: OrderMessage,
    Action.RATING: RatingMessage,
    Action.ON_RATING: OnRatingMessage,
    Action.SUPPORT: SupportMessage,
    Action.ON_SUPPORT: SupportMessage,
}

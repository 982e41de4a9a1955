"""The Beckn actions: requests, their ``on_*`` callbacks, and who sends which."""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    """Every transaction action of Beckn core 1.1.0, requests first, then callbacks."""

    SEARCH = "search"
    SELECT = "select"
    INIT = "init"
    CONFIRM = "confirm"
    STATUS = "status"
    TRACK = "track"
    UPDATE = "update"
    CANCEL = "cancel"
    RATING = "rating"
    SUPPORT = "support"
    ON_SEARCH = "on_search"
    ON_SELECT = "on_select"
    ON_INIT = "on_init"
    ON_CONFIRM = "on_confirm"
    ON_STATUS = "on_status"
    ON_TRACK = "on_track"
    ON_UPDATE = "on_update"
    ON_CANCEL = "on_cancel"
    ON_RATING = "on_rating"
    ON_SUPPORT = "on_support"

    @property
    def is_callback(self) -> bool:
        """True for ``on_*`` actions, which a seller (BPP) sends back to a buyer (BAP)."""
        return self.value.startswith("on_")

    @property
    def callback(self) -> Action:
        """The ``on_*`` action that answers this request."""
        if self.is_callback:
            raise ValueError(f"{self.value} is already a callback")
        return Action("on_" + self.value)

    @property
    def request(self) -> Action:
        """The request that this ``on_*`` callback answers."""
        if not self.is_callback:
            raise ValueError(f"{self.value} is a request, not a callback")
        return Action(self.value.removeprefix("on_"))

    @property
    def sender_field(self) -> str:
        """The context field naming the sender: bap_id on requests, bpp_id on callbacks."""
        return "bpp_id" if self.is_callback else "bap_id"


class RegistryAction(enum.StrEnum):
    """The registry API's endpoints (Beckn registry.yaml; ONDC onboarding)."""

    SUBSCRIBE = "subscribe"
    ON_SUBSCRIBE = "on_subscribe"
    LOOKUP = "lookup"


REQUESTS: tuple[Action, ...] = tuple(a for a in Action if not a.is_callback)
CALLBACKS: tuple[Action, ...] = tuple(a for a in Action if a.is_callback)

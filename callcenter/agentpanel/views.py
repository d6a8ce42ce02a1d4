"""What the panel's JSON and pages show: service results as plain dicts, numbers masked.

Every phone number leaving the server goes through ``mask`` (the web's
``mask_number`` bound to the signed-in user); times are ISO 8601 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from typing import Any

from callcenter.store.customers import Customer
from callcenter.store.followups import FollowUp

Mask = Callable[[str | None], str]


def to_json(value: Any) -> str:
    """JSON text of ``value``: dataclasses as objects, dates and times ISO 8601."""

    def default(obj: Any) -> Any:
        if isinstance(obj, datetime | date | time):
            return obj.isoformat()
        if is_dataclass(obj) and not isinstance(obj, type):
            return asdict(obj)
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    return json.dumps(value, default=default, ensure_ascii=False)


def customer_view(customer: Customer | None, mask: Mask) -> dict[str, Any] | None:
    """A customer with masked numbers."""
    if customer is None:
        return None
    out = asdict(customer)
    out["phones"] = [mask(p) for p in customer.phones]
    return out


def call_view(call: dict[str, Any], mask: Mask) -> dict[str, Any]:
    """A call row (history, day, notes due) with masked caller and callee."""
    return {**call, "caller": mask(call.get("caller")), "callee": mask(call.get("callee"))}


def follow_up_view(follow_up: FollowUp, mask: Mask) -> dict[str, Any]:
    """A follow-up with its number masked."""
    out = asdict(follow_up)
    out["number"] = mask(follow_up.number)
    return out


def screen_pop_view(ring: dict[str, Any], pop: dict[str, Any], mask: Mask) -> dict[str, Any]:
    """The ``ring`` event completed with the customer (and ``tier_label``), their
    history and the call script."""
    customer = customer_view(pop["customer"], mask)
    if customer is not None:
        customer["tier_label"] = pop.get("tier_label", "")
    return {**ring, "caller": mask(ring.get("caller")), "customer": customer,
            "history": [call_view(c, mask) for c in pop["history"]],
            "script": pop.get("script")}

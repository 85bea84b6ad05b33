"""Inbound routes: which IVR flow, queue or user a new call goes to.

A route matches the dialled number (DID) exactly, by prefix (``+86216000*``) or as the
catch-all ``*``, optionally only for calls from one trunk; the most specific match wins
(exact, then the longest prefix, then a trunk-bound route over an unbound one), so that
adding a catch-all never steals calls from a specific route. A route with a calendar sends
calls to ``closed`` outside business hours.

DIDs are compared in their normalized form (:mod:`hotline.calls.numbers`), so that
``021 6000 1234`` from one carrier and ``+862160001234`` from another reach the same route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hotline.calls.hours import Calendar
from hotline.calls.numbers import NumberError, NumberingPlan, normalize


class Destination(BaseModel):
    """Where a call goes: an IVR flow, a queue, a user (extension) or a polite hang-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["flow", "queue", "user", "hangup"]
    target: str = ""

    @field_validator("target")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class InboundRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    did: str = Field(min_length=1, description="exact number, prefix ending in '*', or '*'")
    trunk: str | None = Field(default=None, description="only calls from this trunk")
    department: str | None = Field(default=None, description="owner; picks IVR pilots")
    calendar: str | None = None
    destination: Destination
    closed: Destination | None = None

    @field_validator("did")
    @classmethod
    def _pattern(cls, value: str) -> str:
        value = re.sub(r"[\s\-()]", "", value)  # '021 6000-1234' as written by people
        body = value.removesuffix("*")
        if "*" in body or (body and not body.lstrip("+").isdigit()):
            raise ValueError(f"{value!r}: give digits, optionally '+' first and '*' last")
        return value


@dataclass(frozen=True, slots=True)
class RouteDecision:
    route: InboundRoute
    destination: Destination
    in_hours: bool


class RoutingError(Exception):
    """Routes that cannot work together (unknown calendar, duplicate pattern)."""


class InboundRouter:
    def __init__(
        self,
        routes: Iterable[InboundRoute],
        calendars: Mapping[str, Calendar],
        plan: NumberingPlan,
    ) -> None:
        self._plan = plan
        self._calendars = calendars
        self._exact: dict[tuple[str, str | None], InboundRoute] = {}
        self._prefixes: list[tuple[str, InboundRoute]] = []
        for route in routes:
            if route.calendar is not None and route.calendar not in calendars:
                raise RoutingError(f"route {route.name}: no calendar {route.calendar!r}")
            if route.did.endswith("*"):
                self._prefixes.append((route.did[:-1], route))
            else:
                key = (self._canonical(route.did), route.trunk)
                if key in self._exact:
                    raise RoutingError(
                        f"routes {self._exact[key].name} and {route.name} match the same number"
                    )
                self._exact[key] = route
        # Longest prefix first; among equals, trunk-bound before unbound.
        self._prefixes.sort(key=lambda item: (-len(item[0]), item[1].trunk is None))

    def route(
        self, did: str, trunk: str | None, now: float, *, catch_all: bool = True
    ) -> RouteDecision | None:
        """The decision for a new call to ``did`` from ``trunk``, or None (answer 404).

        ``catch_all=False`` leaves the ``*`` route out: a transfer target is one of our
        numbers only if a route names it (exactly or by a non-empty prefix); a catch-all
        matches every outside number too."""
        number = self._canonical(did)
        route = self._exact.get((number, trunk)) or self._exact.get((number, None))
        if route is None:
            route = next(
                (
                    r
                    for prefix, r in self._prefixes
                    if number.startswith(prefix)
                    and r.trunk in (None, trunk)
                    and (catch_all or prefix)
                ),
                None,
            )
        if route is None:
            return None
        in_hours = route.calendar is None or self._calendars[route.calendar].is_open(now)
        destination = route.destination if in_hours or route.closed is None else route.closed
        return RouteDecision(route, destination, in_hours)

    def _canonical(self, number: str) -> str:
        try:
            return normalize(number, self._plan)
        except NumberError:
            return number.strip()  # extensions and odd DIDs still match literally

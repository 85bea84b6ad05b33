"""The admin console's forms: which inputs a section shows, and how a posted form becomes
the same values the REST API takes.

A form is only a different spelling of an API body: this module turns form fields into a
dict, the API's own schema validates it, and the API's own service stores it. Nothing here
decides what is valid; it only says where each error goes (``errors_from``), so that a
message from the schema or the service lands next to the input it is about.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from hotline.api.services.errors import ConflictError, FieldError
from hotline.dialer.calling_hours import DAY_NAMES, END_OF_DAY, CallingHours
from hotline.dialer.retry_rules import RETRIED_OUTCOMES

Kind = Literal[
    "text",
    "password",
    "number",
    "checkbox",
    "select",
    "checkboxes",
    "lines",
    "csv",
    "weekly",
    "levels",
    "order",
    "target",
    "decimal",
    "hours",
    "retries",
    "message",
]
#: What an empty text input means: leave the field out (the default applies, or an edit
#: keeps the stored value), clear it (``None``), or the empty string.
Blank = Literal["omit", "null", "empty"]

DAYS = range(7)  # 0 = Monday, as the API's OpeningInterval
#: A campaign's retry rules: a delay and a limit per retried outcome, one delay for congestion.
RETRY_FIELDS = ("delay_seconds", "max_attempts")
CONGESTION_DELAY = "congestion_delay_seconds"
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Input:
    """One input of a form; ``name`` is the API field it fills."""

    name: str
    kind: Kind = "text"
    required: bool = False
    blank: Blank = "omit"
    #: Key into the page's choices (departments, skills, ...), for select-like kinds.
    choices: str | None = None
    create_only: bool = False
    hint: bool = False  # the catalog has admin.hint.<section>.<name>
    #: API fields whose errors belong to this input (a route's target is two fields).
    covers: tuple[str, ...] = ()
    integer: bool = True  # select values are ids

    def owns(self, api_field: str) -> bool:
        return api_field == self.name or api_field in self.covers


class FormError(Exception):
    """Input that cannot even be spelled as an API body (``9:x`` as opening hours)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class FormState:
    """What a form shows: the values to fill in and the errors next to each input."""

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    general: list[str] = dataclasses.field(default_factory=list)


def values_from(
    inputs: Sequence[Input], form: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """The API body a posted form stands for; raises :class:`FormError` for what cannot
    be spelled (the schema then checks everything else)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in inputs:
        if spec.create_only and not creating:
            continue
        try:
            _read(spec, form, values)
        except ValueError as error:
            errors[spec.name] = str(error)
    if errors:
        raise FormError(errors)
    return values


def _read(spec: Input, form: Mapping[str, Any], values: dict[str, Any]) -> None:
    raw = form.get(spec.name)
    text = raw.strip() if isinstance(raw, str) else ""
    if spec.kind == "checkbox":
        values[spec.name] = raw is not None
    elif spec.kind in ("text", "password", "select", "number", "decimal", "message"):
        if text == "":
            if spec.kind == "password" or spec.blank == "omit":
                return
            values[spec.name] = None if spec.blank == "null" else ""
        elif spec.kind == "number" or (spec.kind == "select" and spec.integer):
            values[spec.name] = _integer(text)
        elif spec.kind == "decimal":
            values[spec.name] = _decimal(text)
        else:
            values[spec.name] = text
    elif spec.kind == "checkboxes":
        picked = _all(form, spec.name)
        values[spec.name] = [_integer(v) for v in picked] if spec.integer else picked
    elif spec.kind == "lines":
        values[spec.name] = [line.strip() for line in text.splitlines() if line.strip()]
    elif spec.kind == "csv":
        values[spec.name] = [part.strip() for part in text.split(",") if part.strip()]
    elif spec.kind == "weekly":
        values[spec.name] = _weekly(form, spec.name)
    elif spec.kind == "levels":
        values[spec.name] = _levels(form, spec.name, by_id=spec.integer)
    elif spec.kind == "hours":
        values[spec.name] = _hours(form, spec.name)
    elif spec.kind == "retries":
        values[spec.name] = _retries(form, spec.name)
    elif spec.kind == "order":
        values[spec.name] = _order(form, spec.name)
    elif spec.kind == "target":
        kind, _, target_id = text.partition(":")
        if text:
            values["target_type"], values["target_id"] = kind, _integer(target_id)


def _all(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    found = getlist(name) if getlist is not None else form.get(name, [])
    return [str(v) for v in found if str(v).strip()]


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("number") from None


def _decimal(text: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise ValueError("decimal") from None


def _hours(form: Mapping[str, Any], name: str) -> dict[str, str]:
    """A campaign's calling hours, one input per weekday (``09:00-12:00, 14:00-20:00``),
    as the API's settings form (``{"mon": "09:00-12:00,14:00-20:00"}``): a blank day is
    left out, which the API reads as closed. The API's parser checks the ranges."""
    hours: dict[str, str] = {}
    for day in DAYS:
        text = str(form.get(f"{name}.{day}", "")).strip()
        parts = [part.strip().replace(" ", "") for part in text.split(",") if part.strip()]
        if parts:
            hours[DAY_NAMES[day]] = ",".join(parts)
    try:  # consecutive days with the same windows as one range ("mon-fri"), as in the API
        return CallingHours.parse(hours).to_spec()
    except ValueError:  # the API's parser says what is wrong, on this field
        return hours


def hours_by_day(spec: Mapping[str, str]) -> list[tuple[list[int], str]]:
    """A campaign's calling hours for reading: runs of consecutive days with the same
    windows (``[0, 1, 2, 3, 4]``, ``"09:00-20:00"``); closed days left out."""
    try:
        windows = CallingHours.parse(spec).windows
    except ValueError:
        return []
    runs: list[tuple[list[int], str]] = []
    for day in DAYS:
        text = ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in windows.get(day, ()))
        if not text:
            continue
        if runs and runs[-1][1] == text and runs[-1][0][-1] == day - 1:
            runs[-1][0].append(day)
        else:
            runs.append(([day], text))
    return runs


def _retries(form: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A campaign's retry rules: only what was filled in (a blank keeps the default)."""
    rules: dict[str, Any] = {}
    for outcome in RETRIED_OUTCOMES:
        rule: dict[str, int] = {}
        for key in RETRY_FIELDS:
            text = str(form.get(f"{name}.{outcome}.{key}", "")).strip()
            if text:
                rule[key] = _integer(text)
        if rule:
            rules[outcome] = rule
    text = str(form.get(f"{name}.{CONGESTION_DELAY}", "")).strip()
    if text:
        rules[CONGESTION_DELAY] = _integer(text)
    return rules


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clock(value: Any) -> str:
    return "24:00" if value == END_OF_DAY else value.strftime("%H:%M")


def _weekly(form: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    intervals = []
    for day in DAYS:
        text = str(form.get(f"{name}.{day}", "")).strip()
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = _RANGE.match(part)
            if match is None:
                raise ValueError("weekly")
            start, end = (value.zfill(5) for value in match.groups())
            intervals.append({"day": day, "start": start, "end": end})
    return intervals


def _levels(form: Mapping[str, Any], name: str, *, by_id: bool) -> list[dict[str, Any]]:
    """A level per skill, blank for none: an agent's skills by id (``skill_id``), a
    queue's needs by name (``skill``, the minimum level an agent must have)."""
    prefix = name + "."
    chosen: list[dict[str, Any]] = []
    for key in sorted(k for k in form if k.startswith(prefix)):
        level = str(form.get(key, "")).strip()
        if level:
            skill = key[len(prefix) :]
            if by_id:
                chosen.append({"skill_id": _integer(skill), "level": _integer(level)})
            else:
                chosen.append({"skill": skill, "level": _integer(level)})
    return chosen


def _order(form: Mapping[str, Any], name: str) -> list[int]:
    prefix = name + "."
    ranked = []
    for key in form:
        if key.startswith(prefix) and str(form.get(key, "")).strip():
            ranked.append((_integer(str(form[key]).strip()), _integer(key[len(prefix) :])))
    return [item_id for _, item_id in sorted(ranked)]


def form_values(inputs: Sequence[Input], item: Mapping[str, Any]) -> dict[str, Any]:
    """What an edit form shows for a stored row (its API read model as a dict)."""
    shown: dict[str, Any] = {}
    for spec in inputs:
        value = item.get(spec.name)
        if spec.kind == "password":
            shown[spec.name] = ""
        elif spec.kind == "lines":
            shown[spec.name] = "\n".join(str(v) for v in value or [])
        elif spec.kind == "csv":
            shown[spec.name] = ", ".join(str(v) for v in value or [])
        elif spec.kind == "weekly":
            for day in DAYS:
                shown[f"{spec.name}.{day}"] = ", ".join(
                    f"{i['start']}-{i['end']}" for i in value or [] if i["day"] == day
                )
        elif spec.kind == "hours":
            try:
                windows = CallingHours.parse(value or {}).windows
            except ValueError:  # stored by an older parser: show nothing rather than fail
                windows = {}
            for day in DAYS:
                shown[f"{spec.name}.{day}"] = ", ".join(
                    f"{_clock(start)}-{_clock(end)}" for start, end in windows.get(day, ())
                )
        elif spec.kind == "retries":
            for outcome, rule in (value or {}).items():
                if isinstance(rule, Mapping):
                    for key in RETRY_FIELDS:
                        if rule.get(key) is not None:
                            shown[f"{spec.name}.{outcome}.{key}"] = _number_text(rule[key])
                else:
                    shown[f"{spec.name}.{outcome}"] = _number_text(rule)
        elif spec.kind == "levels":
            for skill in value or []:
                key = skill["skill_id"] if spec.integer else skill["skill"]
                shown[f"{spec.name}.{key}"] = str(skill["level"])
        elif spec.kind == "order":
            for position, item_id in enumerate(value or [], start=1):
                shown[f"{spec.name}.{item_id}"] = str(position)
        elif spec.kind == "target":
            if item.get("target_type") is not None:
                shown[spec.name] = f"{item['target_type']}:{item['target_id']}"
        elif spec.kind == "checkboxes":
            shown[spec.name] = [str(v) for v in value or []]
        else:
            shown[spec.name] = "" if value is None else value
    return shown


def raw_values(inputs: Sequence[Input], form: Mapping[str, Any]) -> dict[str, Any]:
    """A posted form as it was typed, to show it again next to its errors."""
    shown: dict[str, Any] = {}
    for key in form:
        shown[key] = form.get(key)
    for spec in inputs:
        if spec.kind == "checkboxes":
            shown[spec.name] = _all(form, spec.name)
        elif spec.kind == "checkbox":
            shown[spec.name] = form.get(spec.name) is not None
        elif spec.kind == "password":
            shown[spec.name] = ""
    return shown


@dataclass(frozen=True)
class Problem:
    """One message for a form: the API field it is about (``None``: the whole form), a
    message key to translate and the API's own words as detail."""

    field: str | None
    key: str
    detail: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


def problems_from(error: Exception) -> list[Problem]:
    """The problems in a schema's or a service's refusal, each on its API field."""
    if isinstance(error, FormError):
        return [Problem(name, f"admin.error.{kind}", kind) for name, kind in error.errors.items()]
    if isinstance(error, ValidationError):
        found = []
        for detail in error.errors():
            loc = [str(part) for part in detail["loc"]]
            found.append(
                Problem(
                    loc[0] if loc else None,
                    f"admin.error.{detail['type']}",
                    str(detail["msg"]).removeprefix("Value error, "),
                    {k: v for k, v in (detail.get("ctx") or {}).items() if _plain(v)},
                )
            )
        return found
    if isinstance(error, FieldError):
        return [
            Problem(str(p.loc[1]) if len(p.loc) > 1 else None, "admin.error.rule", p.msg)
            for p in error.problems
        ]
    if isinstance(error, ConflictError):
        top = error.field.split(".")[0] if error.field else None
        return [Problem(top, "admin.error.conflict", str(error))]
    return [Problem(None, "admin.error.rule", str(error))]


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float)

"""The building blocks every resource's bodies share: bounded strings and ids, the base
models of request and response bodies, and the PATCH body derived from a create body.

Every string has a maximum length matching its column and refuses control characters (NUL
above all: PostgreSQL cannot store it); every integer that reaches the database fits in 32
bits. Bad input is therefore a 422 that names the field, never a database error turned 500.
Update bodies are derived from create bodies: every field optional, ``null`` only where
the column is nullable.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

ItemT = TypeVar("ItemT")

MAX_INT = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_CONTROL)]
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_CONTROL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
Text254 = Annotated[str, StringConstraints(min_length=1, max_length=254, pattern=NO_CONTROL)]
OptionalText200 = Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROL)]
OptionalText1000 = Annotated[str, StringConstraints(max_length=1000, pattern=NO_CONTROL)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[ItemT]):
    """One page of a list (docs/api.md): ``count`` rows match over every page, ``next`` is
    the path and query of the next page, null on the last: a script follows it with
    ``curl "$BASE$(jq -r .next)"`` until it is null."""

    count: int
    items: list[ItemT]
    next: str | None


def next_page(request: Request, offset: int, shown: int, count: int) -> str | None:
    """``next`` of a page of ``shown`` rows from ``offset`` out of ``count``: the request's
    own path and query with the offset moved on."""
    if offset + shown >= count or shown == 0:
        return None
    url = request.url.include_query_params(offset=offset + shown)
    return f"{url.path}?{url.query}"


def update_model(create: type[BaseModel], *, exclude: tuple[str, ...] = ()) -> type[BaseModel]:
    """The PATCH body for ``create``: the same fields and rules, each one optional."""
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        if name in exclude:
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[name] = (info.annotation, optional)
    # Derived from ``create`` so that its validators apply to the fields that are sent.
    model: type[BaseModel] = create_model(
        create.__name__.removesuffix("Create") + "Update", __base__=create, **fields
    )
    model.__doc__ = f"Fields to change; absent fields keep their value. See {create.__name__}."
    return model

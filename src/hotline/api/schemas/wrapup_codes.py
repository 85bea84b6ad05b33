"""Wrap-up codes: what agents may record about a call, per department (``/wrapup-codes``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from hotline.api.schemas.base import Body, Id, ReadModel, Text200


class WrapUpCodeCreate(Body):
    department_id: Id
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    label: Text200


class WrapUpCodeRead(ReadModel):
    id: int
    department_id: int
    code: str
    label: str

"""Failures a service reports; ``hotline.api.app`` maps each to one HTTP status and body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ServiceError(Exception):
    status_code = 400

    def body(self) -> dict[str, Any]:
        return {"detail": str(self)}


class NotFoundError(ServiceError):
    status_code = 404


class ConflictError(ServiceError):
    """Duplicate name, a missing referenced row, or a row still in use.

    ``field`` names the body field at fault when there is one (``department_id``,
    ``skills.0.skill_id``), so a form can show the message next to it.
    """

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def body(self) -> dict[str, Any]:
        if self.field is None:
            return super().body()
        return {"detail": str(self), "field": self.field}


class InvalidError(ServiceError):
    status_code = 422


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: ``loc`` as FastAPI writes it (``("body", "department_id")``)."""

    loc: tuple[str | int, ...]
    msg: str
    extra: dict[str, Any] = field(default_factory=dict)


class FieldError(InvalidError):
    """Input that passed the schema but not the data (a role without its department, an
    IVR node pointing nowhere). The body has the same shape as FastAPI's own 422s, so a
    client shows both kinds next to the field with one piece of code."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc[1:]))}: {p.msg}" for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, field_path: str, message: str) -> FieldError:
        parts = field_path.split(".")
        loc: tuple[str | int, ...] = ("body", *(int(p) if p.isdigit() else p for p in parts))
        return cls([FieldProblem(loc, message)])

    def body(self) -> dict[str, Any]:
        return {
            "detail": [
                {"loc": list(p.loc), "msg": p.msg, "type": "value_error", **p.extra}
                for p in self.problems
            ]
        }

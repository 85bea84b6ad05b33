"""The configuration backup's document: its sections as pydantic models, and the parse of
an uploaded text into one; also the diff an import answers with.

What a backup may contain is decided here and nowhere else. Rows refer to each other by
name (department, trunk, a group's trunks, queue, flow), never by database id, so a backup
restores into another node or another database; each row is checked by the same schemas
as the API's own create requests. Users and agents are not part of the document: they are
people and credentials, managed through their own endpoints. Pure code, no database: export
(``backup_export``) writes this shape and import (``backup_import``) reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hotline import untrusted_yaml
from hotline.api.schemas.base import Name, Text64, Text200
from hotline.api.schemas.business_hours import BusinessHoursCreate
from hotline.api.schemas.departments import DepartmentCreate
from hotline.api.schemas.ivr import FlowName, IvrDefinition
from hotline.api.schemas.queues import QueueSettings
from hotline.api.schemas.skills import SkillCreate
from hotline.api.schemas.trunk_groups import SipStatusRule
from hotline.api.schemas.trunks import TrunkCreate
from hotline.api.services.errors import InvalidError
from hotline.ivr.problems import MAX_DEPTH as MAX_FLOW_DEPTH

FORMAT_VERSION = 1


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Queue columns that a document carries as they are (references go by name, below).
class QueueDoc(QueueSettings):
    """A queue with its department, overflow queue and pooled departments by name."""

    name: Name
    department: Name
    overflow_queue: Name | None = None
    pooled_departments: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _overflow_target(self) -> QueueDoc:
        if (self.on_max_wait == "overflow") != (self.overflow_queue is not None):
            raise ValueError("overflow_queue goes with on_max_wait overflow")
        return self


class WrapUpDoc(_Doc):
    department: Name
    code: Text64
    label: Text200


class PilotDoc(_Doc):
    """A department running another definition of the flow than the published one."""

    department: Name
    definition: IvrDefinition


class FlowDoc(_Doc):
    name: FlowName
    department: Name
    definition: IvrDefinition
    pilots: list[PilotDoc] = Field(default_factory=list)


class TrunkGroupDoc(_Doc):
    """A trunk group with its trunks by name, in the order calls try them."""

    name: Name
    strategy: Literal["priority", "weighted_round_robin", "least_used"] = "priority"
    trunks: list[Name] = Field(min_length=1, max_length=100)
    failover_on: list[SipStatusRule] = Field(
        default_factory=lambda: ["408", "5xx", "604", "606"], max_length=50
    )

    @field_validator("trunks")
    @classmethod
    def _unique_trunks(cls, trunks: list[str]) -> list[str]:
        if len(set(trunks)) != len(trunks):
            raise ValueError("each trunk at most once")
        return trunks


class RouteDoc(_Doc):
    did: Text64
    trunk: Name | None = None
    target_type: str = Field(pattern="^(queue|ivr_flow|agent)$")
    target: Name = Field(description="queue name, flow name or agent extension")
    business_hours: Name | None = None
    closed_target_type: str | None = Field(default=None, pattern="^(queue|ivr_flow|agent|hangup)$")
    closed_target: Name | None = None
    department: Name | None = None


class ConfigDocument(_Doc):
    version: int = FORMAT_VERSION
    departments: list[DepartmentCreate] = Field(default_factory=list)
    skills: list[SkillCreate] = Field(default_factory=list)
    trunks: list[TrunkCreate] = Field(default_factory=list)
    trunk_groups: list[TrunkGroupDoc] = Field(default_factory=list)
    business_hours: list[BusinessHoursCreate] = Field(default_factory=list)
    queues: list[QueueDoc] = Field(default_factory=list)
    wrapup_codes: list[WrapUpDoc] = Field(default_factory=list)
    ivr_flows: list[FlowDoc] = Field(default_factory=list)
    inbound_routes: list[RouteDoc] = Field(default_factory=list)


class ImportResult(BaseModel):
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: int


def parse_document(text: str) -> ConfigDocument:
    try:
        # A flow's own depth, plus the sections and list items around it.
        data = untrusted_yaml.load(text, MAX_FLOW_DEPTH + 8)
    except untrusted_yaml.UntrustedYamlError as error:
        raise InvalidError(str(error)) from None
    if not isinstance(data, dict):
        raise InvalidError("the document must be a mapping of sections")
    try:
        document = ConfigDocument.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidError(f"{where}: {first['msg']}") from None
    if document.version != FORMAT_VERSION:
        raise InvalidError(f"version {document.version} is not supported (expected 1)")
    return document

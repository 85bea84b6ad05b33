"""IVR flows and their versions, validation and pilots (``routes/ivr.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hotline.api.schemas.base import Body, Id, Name, ReadModel
from hotline.ivr.flow import ID_PATTERN


class IvrDefinition(Body):
    """A flow: named nodes, each with an action and where to go next; run from ``start``.

    The interpreter (ivr/) validates actions in depth; here the structure is checked so
    that a stored version always has a start node that exists.
    """

    model_config = ConfigDict(extra="allow")

    start: Name
    nodes: dict[Name, dict[str, Any]] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _start_exists(self) -> IvrDefinition:
        if self.start not in self.nodes:
            raise ValueError(f"start node {self.start!r} is not among the nodes")
        return self


#: YAML text as an admin writes it: tabs and line ends allowed, other control characters not.
YamlText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]


class IvrSource(Body):
    """A flow given either as a JSON ``definition`` or as the ``yaml`` text an admin wrote
    (kept with its comments, so the editor shows it as written)."""

    definition: IvrDefinition | None = None
    yaml: YamlText | None = None

    @model_validator(mode="after")
    def _one_source(self) -> IvrSource:
        if (self.definition is None) == (self.yaml is None):
            raise ValueError("give exactly one of definition or yaml")
        return self


#: The interpreter's own rule for flow names (``ivr.flow.NodeId``): a name it would refuse
#: would be stored, then left out of the live node with only a log line.
FlowName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN),
    Field(description="letters, digits, '_', '.', '-'; not starting with a digit"),
]


class IvrFlowCreate(IvrSource):
    name: FlowName
    department_id: Id


class IvrVersionCreate(IvrSource):
    publish: bool = Field(default=False, description="publish the new version at once")


class IvrFlowUpdate(Body):
    """Rename a flow or move it to another department (its versions stay)."""

    name: FlowName | None = None
    department_id: Id | None = None


class IvrValidate(Body):
    yaml: YamlText


class IvrProblem(BaseModel):
    location: str = Field(description="dotted path in the document, e.g. nodes.menu.options.7")
    node: str | None = Field(description="the node the problem is in, if any")
    line: int | None = Field(description="1-based line in the YAML text, if known")
    message: str


class IvrValidation(BaseModel):
    valid: bool
    problems: list[IvrProblem]


class IvrPublish(Body):
    version: Id


class IvrPilotStart(Body):
    """Pin a version of the flow for one department's calls (a pilot)."""

    version: Id


class IvrPilotRead(ReadModel):
    flow_id: int
    department_id: int
    version: int
    started_at: datetime
    started_by: int | None


class IvrFlowRead(ReadModel):
    id: int
    name: str
    department_id: int
    published_version: int | None
    latest_version: int


class IvrVersionRead(ReadModel):
    flow_id: int
    version: int
    definition: dict[str, Any]
    source: str | None
    created_at: datetime
    created_by: int | None

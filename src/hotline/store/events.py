"""Events about the stored configuration.

The API publishes :class:`ConfigurationChanged` after each committed change, so that the
live node re-reads its directory (``hotline.services.directory``) and consoles refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigurationChanged(Event):
    """A configuration row was created, changed or deleted (committed)."""

    type_name: ClassVar[str] = "config.changed"
    #: The API's name of the resource ("queues", "agents", "ivr-flows", "config" for an import).
    resource: str
    #: "create", "update", "delete", "publish" or "import".
    action: str
    item_id: int | None = None
    #: The department the row belongs to, when it belongs to one (event visibility).
    department_id: int | None = None

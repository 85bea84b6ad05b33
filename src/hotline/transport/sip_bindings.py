"""Registrar bindings in a JSON file, so that registrations survive a restart of the node.

The default until the store layer implements :class:`hotline.sip.registrar.BindingStore` on
the database. Writes go to a temporary file renamed over the old one, so that a crash leaves
either the old or the new bindings, never half a file. Small and synchronous on purpose: a
REGISTER changes one address-of-record and the file holds a node's phones, not millions.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from hotline.sip.registrar import Binding

log = logging.getLogger(__name__)


class JsonFileBindingStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._bindings: dict[str, list[Binding]] = {}
        if path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self._bindings = {
                    aor: [Binding(**item) for item in items] for aor, items in raw.items()
                }
            except (OSError, ValueError, TypeError) as error:
                log.warning(
                    "ignoring unreadable bindings file",
                    extra={"path": str(path), "error": str(error)},
                )

    def load(self, aor: str) -> list[Binding]:
        return list(self._bindings.get(aor, []))

    def save(self, aor: str, bindings: list[Binding]) -> None:
        if bindings:
            self._bindings[aor] = list(bindings)
        else:
            self._bindings.pop(aor, None)
        self._write()

    def all(self) -> dict[str, list[Binding]]:
        return {aor: list(items) for aor, items in self._bindings.items()}

    def _write(self) -> None:
        data = {aor: [asdict(b) for b in items] for aor, items in self._bindings.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)

"""Which version of a flow a call gets: published versions and department pilots.

A new flow version is tried on one department before everyone (a gray release): the catalog
keeps every version, one published version per flow, and per-department pilots that
override it. Old versions stay so that a call's IVR log always names what it ran.
"""

from __future__ import annotations

from hotline.ivr.flow import Flow


class CatalogError(Exception):
    """An unknown flow or version, or a conflicting version number."""


class FlowCatalog:
    def __init__(self) -> None:
        self._versions: dict[str, dict[int, Flow]] = {}
        self._published: dict[str, int] = {}
        self._pilots: dict[tuple[str, str], int] = {}

    def add(self, flow: Flow) -> None:
        """Keep a validated version; a version number is never reused for other content."""
        versions = self._versions.setdefault(flow.name, {})
        existing = versions.get(flow.version)
        if existing is not None and existing != flow:
            raise CatalogError(
                f"flow {flow.name} already has a different version {flow.version}; "
                "give the changed flow a new version number"
            )
        versions[flow.version] = flow

    def publish(self, name: str, version: int) -> None:
        self._get(name, version)
        self._published[name] = version

    def start_pilot(self, name: str, version: int, department: str) -> None:
        self._get(name, version)
        self._pilots[(name, department)] = version

    def end_pilot(self, name: str, department: str) -> None:
        self._pilots.pop((name, department), None)

    def replace_pilots(self, pilots: dict[tuple[str, str], int]) -> None:
        """Every pilot at once, (flow, department) -> version, as the store holds them: a
        pilot that is not in ``pilots`` has ended (or was promoted). Checked before any is
        changed, so a bad entry leaves the pilots as they were."""
        for (name, _department), version in pilots.items():
            self._get(name, version)
        self._pilots = dict(pilots)

    def pilots(self) -> dict[tuple[str, str], int]:
        return dict(self._pilots)

    def versions(self, name: str) -> list[int]:
        return sorted(self._versions.get(name, {}))

    def for_call(self, name: str, department: str | None = None) -> Flow:
        """The version a new call of ``department`` runs: its pilot, else the published one."""
        if department is not None and (name, department) in self._pilots:
            return self._get(name, self._pilots[(name, department)])
        if name not in self._published:
            raise CatalogError(f"flow {name} has no published version")
        return self._get(name, self._published[name])

    def _get(self, name: str, version: int) -> Flow:
        try:
            return self._versions[name][version]
        except KeyError:
            raise CatalogError(f"no flow {name} version {version}") from None

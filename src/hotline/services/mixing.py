"""A call's mix in the media engine: what ``SetMix`` (call control's wanted membership)
becomes as engine commands.

Call control says who must be in the call's mix and with which role, as a whole
(``SetMix``); the engine takes joins, role changes and leaves one endpoint at a time. This
keeps what the engine has, and sends the difference: leaves first (a departed whisper target
must not be whispered to), then joins and role changes with whisperers last (the mixer only
lets one whisper to members it already has). The conference id is the call id: all of a
call's endpoints live in one media worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

from hotline.media import engine as media

#: endpoint id -> (role, endpoint ids it whispers to)
Membership = Mapping[str, tuple[str, tuple[str, ...]]]
Run = Callable[[media.Command], Awaitable[media.Reply]]


@dataclass
class CallMix:
    conference_id: str
    members: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    async def apply(self, wanted: Membership, alive: Collection[str], run: Run) -> None:
        """Make the engine's mix ``wanted``. Endpoints not ``alive`` any more have left the
        engine's mix with their release; they are only forgotten here."""
        for endpoint_id in [e for e in self.members if e not in alive]:
            del self.members[endpoint_id]
        for endpoint_id in [e for e in self.members if e not in wanted]:
            del self.members[endpoint_id]
            await _check(run(media.LeaveConference(self.conference_id, endpoint_id)))
        for endpoint_id in sorted(wanted, key=lambda e: wanted[e][0] == "whisper"):
            role, whisper_to = wanted[endpoint_id]
            current = self.members.get(endpoint_id)
            if current == (role, whisper_to):
                continue
            if current is None:
                command: media.Command = media.JoinConference(
                    self.conference_id, endpoint_id, role, whisper_to
                )
            else:
                command = media.SetConferenceRole(self.conference_id, endpoint_id, role, whisper_to)
            await _check(run(command))
            self.members[endpoint_id] = (role, whisper_to)


async def _check(reply: Awaitable[media.Reply]) -> None:
    result = await reply
    if isinstance(result, media.Failed):
        raise media.MediaEngineError(result.reason)

"""A call's wanted mix becomes the engine's joins, role changes and leaves, in an order the
mixer accepts (whisper targets present first, departed members out first)."""

from __future__ import annotations

import pytest

from hotline.media import engine as media
from hotline.services.mixing import CallMix


class Engine:
    def __init__(self, fail: str | None = None) -> None:
        self.commands: list[media.Command] = []
        self.fail = fail

    async def __call__(self, command: media.Command) -> media.Reply:
        self.commands.append(command)
        if self.fail and type(command).__name__ == self.fail:
            return media.Failed("refused")
        return media.Done()


async def test_joins_whisperers_last_then_changes_roles_and_leaves() -> None:
    mix, engine = CallMix("c1"), Engine()
    wanted = {
        "sup": ("whisper", ("agent",)),
        "customer": ("participant", ()),
        "agent": ("participant", ()),
    }
    await mix.apply(wanted, {"sup", "customer", "agent"}, engine)
    assert engine.commands == [
        media.JoinConference("c1", "customer", "participant", ()),
        media.JoinConference("c1", "agent", "participant", ()),
        media.JoinConference("c1", "sup", "whisper", ("agent",)),
    ]
    engine.commands.clear()
    await mix.apply({**wanted, "sup": ("participant", ())}, {"sup", "customer", "agent"}, engine)
    assert engine.commands == [media.SetConferenceRole("c1", "sup", "participant", ())]
    engine.commands.clear()
    await mix.apply({}, {"customer", "agent"}, engine)  # "sup" was released: no leave
    assert engine.commands == [
        media.LeaveConference("c1", "customer"),
        media.LeaveConference("c1", "agent"),
    ]
    assert mix.members == {}


async def test_a_refused_command_is_an_engine_error() -> None:
    mix = CallMix("c1")
    with pytest.raises(media.MediaEngineError):
        await mix.apply({"a": ("participant", ())}, {"a"}, Engine(fail="JoinConference"))
    assert mix.members == {}  # not recorded as joined

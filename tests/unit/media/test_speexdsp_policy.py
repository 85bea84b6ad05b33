"""Which calls get voice processing toward their agent: the settings per queue and trunk
(``media.voice_processing``), their combination, and the Bridge the telephony runtime sends
to the engine for a call of a configured queue or trunk."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from hotline.calls import commands as control
from hotline.events.bus import EventBus
from hotline.media import engine as media
from hotline.media.speexdsp import VoiceProcessing
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.executor import CommandExecutor
from hotline.services.telephony.state import CallState, CallTable, LegState
from hotline.services.telephony.voice_processing import VoiceProcessingPolicy
from hotline.settings import Settings, VoiceProcessingSettings


def policy(**settings: Any) -> VoiceProcessingPolicy:
    return VoiceProcessingPolicy.from_settings(VoiceProcessingSettings(**settings))


def test_nothing_configured_is_none_for_every_call() -> None:
    empty = policy()
    assert not empty.configured
    assert empty.for_call("sales", "carrier-a") is None
    assert empty.for_call(None, None) is None


def test_queue_and_trunk_options_combine() -> None:
    rules = policy(
        queues={"roadside": {"denoise": True, "noise_suppress_db": -35}, "quiet": {}},
        trunks={"old-gateway": {"echo_cancel": True, "echo_tail_ms": 300, "denoise": True}},
    )
    assert rules.configured
    assert rules.for_call("roadside", None) == VoiceProcessing(denoise=True, noise_suppress_db=-35)
    assert rules.for_call(None, "old-gateway") == VoiceProcessing(
        denoise=True, echo_cancel=True, echo_tail_ms=300
    )
    # Both: each feature on if either says so, with the numbers of the entry that switched
    # it on (the queue's first).
    assert rules.for_call("roadside", "old-gateway") == VoiceProcessing(
        denoise=True, noise_suppress_db=-35, echo_cancel=True, echo_tail_ms=300
    )
    assert rules.for_call("quiet", None) is None  # an entry with everything off
    assert rules.for_call("sales", "other") is None


def test_settings_read_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "HOTLINE_MEDIA__VOICE_PROCESSING__QUEUES", '{"sales": {"denoise": true, "agc": true}}'
    )
    settings = Settings()
    assert settings.media.voice_processing.queues["sales"].agc
    assert Settings.model_fields["media"].default.voice_processing.queues == {}


def test_bad_options_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="noise_suppress_db"):
        VoiceProcessingSettings(queues={"sales": {"noise_suppress_db": 10}})
    with pytest.raises(ValueError, match="denoize"):
        VoiceProcessingSettings(trunks={"a": {"denoize": True}})


# --- the runtime's Bridge -------------------------------------------------------------------


@dataclass
class RecordingEngine:
    """A media engine that only remembers the commands it was given."""

    commands: list[media.Command] = field(default_factory=list)
    allocated: int = 0

    async def allocate(self, command: media.Allocate) -> media.EndpointDescription:
        self.allocated += 1
        return media.EndpointDescription(f"e{self.allocated}", "127.0.0.1", 4000, ())

    async def execute(self, command: media.Command) -> media.Reply:
        self.commands.append(command)
        return media.Done()


@dataclass
class LiveCall:
    queue: str | None


@dataclass
class Centre:
    calls: dict[str, LiveCall]


class NoSip:
    """A Bridge sends no SIP."""

    user_agent = None

    def flush(self) -> None:
        pass


async def bridged(queue: str | None, trunk: str | None, agent_role: str = "agent") -> media.Bridge:
    table = CallTable()
    engine = RecordingEngine()
    endpoints = LegEndpoints(
        cast(media.MediaEngine, engine), table, EventBus(), lambda: 0.0, music_on_hold=None
    )
    table.calls["c1"] = CallState("c1", "leg-customer", trunk=trunk)
    customer = LegState("leg-customer", "c1", "customer")
    agent = LegState("leg-agent", "c1", cast(Any, agent_role))
    for leg in (customer, agent):
        table.legs[leg.leg_id] = leg
        await endpoints.allocate(leg)
    config = TelephonyConfig(
        recordings_dir=cast(Any, "/nonexistent"),
        voice_processing=policy(
            queues={"complaints": {"denoise": True}}, trunks={"noisy": {"echo_cancel": True}}
        ),
    )
    unused = cast(Any, None)
    executor = CommandExecutor(
        unused,
        cast(Any, Centre({"c1": LiveCall(queue)})),
        cast(Any, NoSip()),
        table,
        endpoints,
        unused,
        unused,
        unused,
        lambda: 0.0,
        config,
    )
    await executor.carry_out([control.Bridge("leg-customer", "leg-agent")])
    (command,) = engine.commands
    assert isinstance(command, media.Bridge)
    return command


async def test_a_call_of_a_configured_queue_is_bridged_with_processing_toward_its_agent() -> None:
    command = await bridged("complaints", None)
    assert command.toward_b == VoiceProcessing(denoise=True)
    assert (command.a, command.b) == ("e1", "e2")  # the customer's endpoint first


async def test_the_trunk_of_the_call_counts_and_an_unconfigured_call_gets_none() -> None:
    assert (await bridged(None, "noisy")).toward_b == VoiceProcessing(echo_cancel=True)
    assert (await bridged("sales", "clean")).toward_b is None
    assert (await bridged("complaints", None, agent_role="external")).toward_b is None


def test_the_options_cross_the_worker_pipe() -> None:
    """Bridge commands are pickled to media worker processes."""
    bridge = media.Bridge("w0g1-1", "w0g1-2", toward_b=VoiceProcessing(denoise=True, agc=True))
    assert pickle.loads(pickle.dumps(bridge)) == bridge

"""``TelephonyConfig``: what the telephony runtime needs besides its collaborators.

Plain settings, read by every part of the runtime (recordings directory, trunks, the agents'
domain, music on hold, speech and voicemail timing); kept apart so that no part has to
import another just to read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotline.calls.hours import Calendar
from hotline.calls.numbers import NumberingPlan
from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.services.telephony.voice_processing import VoiceProcessingPolicy


@dataclass
class TelephonyConfig:
    """What the runtime needs besides its collaborators."""

    recordings_dir: Path
    #: Trunks by which inbound calls are identified (source host), for inbound routing.
    trunks: Sequence[TrunkConfig] = ()
    #: Groups of those trunks that outbound calls go through (their trunks are probed).
    trunk_groups: Sequence[TrunkGroupConfig] = ()
    #: How numbers without a country (or area) code are read, for outbound calls.
    numbering_plan: NumberingPlan = field(default_factory=NumberingPlan)
    #: Which outside numbers transfers may reach, and the trunk group they go through.
    transfer_rules: ExternalTransferRules = field(default_factory=ExternalTransferRules)
    #: The domain of agents' addresses-of-record: agent "1002" is ``sip:1002@<domain>``.
    agent_domain: str = "127.0.0.1"
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    #: A WAV looped to waiting callers; None plays the engine's built-in music.
    music_on_hold: Path | None = None
    #: How long ``stop()`` waits for calls to be ended politely (BYEs, recordings closed).
    shutdown_grace: float = 3.0
    #: The recogniser for speech nodes (``ivr.asr.SPEECH_ENGINES``); None: speech nodes
    #: always take their no-match path.
    speech_engine: str | None = "pocketsphinx"
    #: Silence after speech that ends an answer to a speech node.
    speech_end_silence_s: float = 0.8
    #: A voicemail ends after this much silence once the caller has spoken, or if they say
    #: nothing at all for ``voicemail_start_timeout_s`` (then nothing is stored).
    voicemail_end_silence_s: float = 5.0
    voicemail_start_timeout_s: float = 10.0
    #: Noise suppression / echo cancellation toward agents, per queue and trunk.
    voice_processing: VoiceProcessingPolicy = field(default_factory=VoiceProcessingPolicy)

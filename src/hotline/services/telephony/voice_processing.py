"""``VoiceProcessingPolicy``: which noise suppression and echo cancellation a call's agent
gets on what they hear from the customer, from the call's queue and trunk.

Per queue because a queue knows its callers (a car-insurance line takes calls from the
roadside), per trunk because a trunk knows its line (a carrier with a noisy or echoing
gateway). Both are read from the settings (``media.voice_processing``), by name; a call
gets the two combined: a feature switched on for its queue or its trunk is on, and the
numbers (attenuation, echo tail) come from the queue when it has an entry. Nothing
configured (the default) gives None, and then the engine creates no processing at all.

The queue is the one the call is in (or was last in) when its customer is bridged to an
agent; a click-to-call has none, only its trunk. An outside party reached through a trunk
(a transfer) is no agent: it gets nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hotline.media.speexdsp import VoiceProcessing
from hotline.settings import VoiceOptions, VoiceProcessingSettings


def _processing(options: VoiceOptions) -> VoiceProcessing:
    return VoiceProcessing(
        denoise=options.denoise,
        noise_suppress_db=options.noise_suppress_db,
        agc=options.agc,
        echo_cancel=options.echo_cancel,
        echo_tail_ms=options.echo_tail_ms,
    )


@dataclass(frozen=True)
class VoiceProcessingPolicy:
    queues: Mapping[str, VoiceProcessing] = field(default_factory=dict)
    trunks: Mapping[str, VoiceProcessing] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: VoiceProcessingSettings) -> VoiceProcessingPolicy:
        return cls(
            {name: _processing(o) for name, o in settings.queues.items()},
            {name: _processing(o) for name, o in settings.trunks.items()},
        )

    @property
    def configured(self) -> bool:
        return any(o.active for o in (*self.queues.values(), *self.trunks.values()))

    def for_call(self, queue: str | None, trunk: str | None) -> VoiceProcessing | None:
        """The processing toward the agent of a call in ``queue`` through ``trunk``."""
        by_queue = self.queues.get(queue) if queue else None
        by_trunk = self.trunks.get(trunk) if trunk else None
        sources = [o for o in (by_queue, by_trunk) if o is not None]  # the queue first
        if not sources:
            return None
        denoising = [o for o in sources if o.denoise]
        echoing = [o for o in sources if o.echo_cancel]
        combined = VoiceProcessing(
            denoise=bool(denoising),
            noise_suppress_db=(denoising or sources)[0].noise_suppress_db,
            agc=any(o.agc for o in sources),
            echo_cancel=bool(echoing),
            echo_tail_ms=(echoing or sources)[0].echo_tail_ms,
        )
        return combined if combined.active else None

"""``LegEndpoints``: the legs' endpoints in the media engine.

Every part of the runtime that touches media goes through here: allocating a leg's endpoint
(with the codecs the node speaks), pointing it at the peer, playing to it and waiting for a
playback to end, stopping what plays, and releasing it at the leg's end with its RTP
statistics published (``LegMediaStats``). It keeps the map from endpoint id to leg (media
events name endpoints) and the futures of playbacks being waited for, so that a release or
a stop also wakes whoever waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hotline.calls.events import LegMediaStats
from hotline.calls.sdp_media import RemoteMedia
from hotline.events.bus import EventBus
from hotline.media import engine as media
from hotline.services.telephony.state import CallTable, LegState

log = logging.getLogger(__name__)

#: What the node offers and accepts: G.711 and RFC 4733 key presses.
CODECS = (
    media.CodecOffer("PCMU", 0),
    media.CodecOffer("PCMA", 8),
    media.CodecOffer("telephone-event", media.DEFAULT_TELEPHONE_EVENT_PT, fmtp="0-16"),
)


class LegEndpoints:
    def __init__(
        self,
        engine: media.MediaEngine,
        table: CallTable,
        bus: EventBus,
        clock: Callable[[], float],
        *,
        music_on_hold: str | None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.bus = bus
        self.clock = clock
        self.music_on_hold = music_on_hold  # None: the engine's built-in music
        self.by_id: dict[str, LegState] = {}  # media endpoint id -> leg
        self._playing: dict[str, asyncio.Future[bool]] = {}  # endpoint id -> interrupted?

    async def run(self, command: media.Command) -> media.Reply:
        """Execute ``command``; a refusal raises ``MediaEngineError``."""
        reply = await self.engine.execute(command)
        if isinstance(reply, media.Failed):
            raise media.MediaEngineError(reply.reason)
        return reply

    async def allocate(self, leg: LegState) -> media.EndpointDescription:
        endpoint = await self.engine.allocate(media.Allocate(leg.call_id, codecs=CODECS))
        leg.endpoint = endpoint
        self.by_id[endpoint.endpoint_id] = leg
        return endpoint

    async def set_remote(self, endpoint: media.EndpointDescription, remote: RemoteMedia) -> None:
        await self.run(
            media.SetRemote(
                endpoint.endpoint_id,
                remote.host,
                remote.port,
                remote.payload_type,
                remote.telephone_event_pt,
            )
        )

    async def play_music_on_hold(self, endpoint_id: str) -> None:
        await self.run(media.PlayMusicOnHold(endpoint_id, self.music_on_hold))

    async def release(self, leg: LegState) -> None:
        """Free the leg's endpoint (if it still has one) and report its RTP statistics."""
        endpoint, leg.endpoint = leg.endpoint, None
        if endpoint is None:
            return
        self.by_id.pop(endpoint.endpoint_id, None)
        self._cancel_wait(endpoint.endpoint_id)
        stats = await self.engine.execute(media.GetStats(endpoint.endpoint_id))
        if isinstance(stats, media.EndpointStats):
            self.bus.publish(
                LegMediaStats(
                    at=self.clock(),
                    call_id=leg.call_id,
                    leg_id=leg.leg_id,
                    role=leg.role,
                    received=stats.received,
                    lost=stats.lost,
                    jitter_ms=stats.jitter_ms,
                    sent=stats.sent + stats.forwarded,
                )
            )
        reply = await self.engine.execute(media.Release(endpoint.endpoint_id))
        if isinstance(reply, media.Failed):
            log.info("release of %s: %s", endpoint.endpoint_id, reply.reason)

    async def stop_media(self, leg: LegState) -> None:
        """Stop what plays to the leg; for the customer, its prompts too."""
        call = self.table.calls.get(leg.call_id)
        if call is not None and leg.role == "customer" and call.prompt_task is not None:
            call.prompt_task.cancel()
            call.prompt_task = None
        if leg.endpoint is not None:
            self._cancel_wait(leg.endpoint.endpoint_id)
            await self.run(media.StopPlayback(leg.endpoint.endpoint_id))

    # ---- waiting for a playback's end --------------------------------------------------------

    def playback_end(self, endpoint_id: str) -> asyncio.Future[bool]:
        """A future for the end of the next playback on ``endpoint_id`` (True: a key press
        interrupted it); cancelled when the endpoint stops playing or is released."""
        finished = asyncio.get_running_loop().create_future()
        self._playing[endpoint_id] = finished
        return finished

    def forget_playback_end(self, endpoint_id: str, finished: asyncio.Future[bool]) -> None:
        if self._playing.get(endpoint_id) is finished:
            del self._playing[endpoint_id]

    def playback_finished(self, event: media.PlaybackFinished) -> None:
        waiting = self._playing.pop(event.endpoint_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(event.interrupted)

    def _cancel_wait(self, endpoint_id: str) -> None:
        waiting = self._playing.pop(endpoint_id, None)
        if waiting is not None and not waiting.done():
            waiting.cancel()

"""Voice processing on a bridge in the built-in engine, over loopback RTP: the agent hears the
customer's noise suppressed and the echo of their own voice cancelled; a bridge without the
option relays byte for byte and creates no processing state."""

from __future__ import annotations

import asyncio

import numpy as np

from hotline.media.engine import Bridge, Done, Unbridge
from hotline.media.g711 import pcmu
from hotline.media.rtp import RtpPacket
from hotline.media.speexdsp import VoiceProcessing
from hotline.transport.media_worker import LocalMediaEngine
from tests.unit.media.peers import RtpPeer, open_peer
from tests.unit.media.test_engine_loopback import leg, with_engine
from tests.unit.media.test_speexdsp import pytestmark  # noqa: F401 - skip without libspeexdsp

FRAME = 160


def packets(signal: np.ndarray, ssrc: int = 0x1234) -> list[bytes]:
    encoder = pcmu().encoder()
    pcm = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    return [
        bytes(RtpPacket(0, i, i * FRAME, ssrc, encoder.encode(pcm[i * FRAME : (i + 1) * FRAME])))
        for i in range(len(pcm) // FRAME)
    ]


def decoded(peer: RtpPeer) -> np.ndarray:
    decoder = pcmu().decoder()
    parts = [decoder.decode(RtpPacket.parse(raw).payload) for raw, _ in peer.received]
    return np.concatenate(parts).astype(np.float64)


def endpoint_state(engine: LocalMediaEngine, endpoint_id: str) -> tuple[object, object]:
    endpoint = engine.core.endpoints[endpoint_id]
    return endpoint._voice, endpoint._echo_sink


@with_engine
async def test_the_agent_hears_the_customers_line_noise_suppressed(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 0)
    b = await leg(engine, "c1", agent, 0)
    options = VoiceProcessing(denoise=True)
    assert await engine.execute(Bridge(a.endpoint_id, b.endpoint_id, toward_b=options)) == Done()
    noise = np.random.default_rng(1).standard_normal(3 * 8000) * 1000  # -30 dBFS hiss
    sent = packets(noise)
    await caller.send_all(sent, ("127.0.0.1", a.port))
    await agent.wait_for(len(sent))
    heard = decoded(agent)
    assert len(heard) == len(noise)
    last_second = slice(2 * 8000, 3 * 8000)
    reduction = 10 * np.log10(np.mean(noise[last_second] ** 2) / np.mean(heard[last_second] ** 2))
    assert reduction > 12  # the suppressor has learnt the noise after ~1.5 s
    # The other direction is untouched: the agent's packets reach the caller byte for byte.
    back = packets(noise[:8000], ssrc=0x99)
    await agent.send_all(back, ("127.0.0.1", b.port))
    assert await caller.wait_for(len(back)) == back
    caller.close()
    agent.close()


@with_engine
async def test_the_agent_does_not_hear_their_own_echo(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 0)
    b = await leg(engine, "c1", agent, 0)
    options = VoiceProcessing(echo_cancel=True)
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id, toward_b=options))
    rng = np.random.default_rng(2)
    voice = rng.standard_normal(8 * 8000) * 3000  # what the agent says, 8 s
    response = np.concatenate(
        [np.zeros(160), rng.standard_normal(200) * np.exp(-np.arange(200) / 40)]
    )
    echo = np.convolve(voice, response)[: len(voice)]
    echo *= 0.5 * np.sqrt(np.mean(voice**2) / np.mean(echo**2))  # ERL 6 dB
    to_customer, from_customer = packets(voice, ssrc=7), packets(echo, ssrc=8)
    for spoken, echoed in zip(to_customer, from_customer, strict=True):
        agent.send(spoken, ("127.0.0.1", b.port))  # reaches the customer: the reference
        await asyncio.sleep(0.0005)
        caller.send(echoed, ("127.0.0.1", a.port))  # comes back with the echo in it
        await asyncio.sleep(0.0005)
    await agent.wait_for(len(from_customer))
    heard = decoded(agent)
    last = slice(len(heard) // 2, len(heard))
    erle = 10 * np.log10(np.mean(echo[last] ** 2) / np.mean(heard[last] ** 2))
    assert erle > 10
    # What the customer hears is the agent's voice itself (decoded and encoded again).
    assert len(await caller.wait_for(len(to_customer))) == len(to_customer)
    caller.close()
    agent.close()


@with_engine
async def test_without_the_option_no_processing_state_exists(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 0)
    b = await leg(engine, "c1", agent, 0)
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id, toward_b=VoiceProcessing()))
    assert endpoint_state(engine, a.endpoint_id) == (None, None)
    assert engine.core.endpoints[a.endpoint_id].passthrough
    # A processed bridge, unbridged (hold) and bridged again without it, is plain again.
    await engine.execute(
        Bridge(a.endpoint_id, b.endpoint_id, toward_b=VoiceProcessing(echo_cancel=True))
    )
    assert endpoint_state(engine, a.endpoint_id)[0] is not None
    assert endpoint_state(engine, b.endpoint_id)[1] is not None
    await engine.execute(Unbridge(a.endpoint_id))
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    assert endpoint_state(engine, a.endpoint_id) == (None, None)
    assert endpoint_state(engine, b.endpoint_id) == (None, None)
    caller.close()
    agent.close()

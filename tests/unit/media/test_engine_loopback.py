"""The built-in engine in this process on loopback UDP: relay, latching, bad input, transcoding,
recording, DTMF and playback, against scripted RTP peers (no subprocess)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotline.media.default_codecs import default_registry
from hotline.media.dtmf import TelephoneEventReceiver
from hotline.media.engine import (
    Allocate,
    Bridge,
    CodecOffer,
    Done,
    DtmfReceived,
    EndpointDescription,
    Failed,
    JoinConference,
    LeaveConference,
    PauseRecording,
    PlaybackFinished,
    PlayFile,
    PlayMusicOnHold,
    PlayProgressTone,
    PlayTone,
    Release,
    ResumeRecording,
    SendDtmf,
    SetConferenceRole,
    SetRemote,
    StartRecording,
    StopPlayback,
    StopRecording,
)
from hotline.media.g711 import pcma, pcmu
from hotline.media.players import tone
from hotline.media.recorder import RecordingMetadata
from hotline.media.rtp import RtcpReceiverReport, RtpPacket
from hotline.media.wav import WavWriter, read_wav
from hotline.transport.media_worker import LocalMediaEngine, WorkerConfig
from tests.unit.media.peers import RtpPeer, in_own_loop, open_peer, pcap_payloads

SIPP = Path("/usr/share/sip-tester")
G711A = SIPP / "g711a.pcap"


def with_engine(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., None]:
    """The test gets a fresh in-process engine, closed afterwards, in its own loop."""

    @functools.wraps(test)
    async def body(*args: Any, **kwargs: Any) -> None:
        engine = LocalMediaEngine()
        try:
            await test(engine, *args, **kwargs)
        finally:
            await engine.close()

    # Hide the engine parameter from pytest: it is not a fixture.
    signature = inspect.signature(test)
    body.__dict__["__signature__"] = signature.replace(
        parameters=list(signature.parameters.values())[1:]
    )
    return in_own_loop(body)


async def leg(
    engine: LocalMediaEngine, call_id: str, peer: RtpPeer, payload_type: int
) -> EndpointDescription:
    endpoint = await engine.allocate(Allocate(call_id))
    host, port = peer.address
    assert await engine.execute(SetRemote(endpoint.endpoint_id, host, port, payload_type)) == Done()
    return endpoint


def peak(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * 8000 / len(samples)


@with_engine
async def test_allocate_gives_an_sdp_ready_description(engine):
    endpoint = await engine.allocate(Allocate("c1"))
    sdp = endpoint.sdp_media()
    assert f"m=audio {endpoint.port} RTP/AVP 0 8 101" in sdp
    assert "a=rtpmap:101 telephone-event/8000" in sdp
    assert "c=IN IP4 127.0.0.1" in sdp
    assert endpoint.port > 0


@with_engine
async def test_bridge_passes_captured_packets_through_unchanged(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 8)
    b = await leg(engine, "c1", agent, 8)
    assert await engine.execute(Bridge(a.endpoint_id, b.endpoint_id)) == Done()
    packets = pcap_payloads(G711A)
    await caller.send_all(packets, ("127.0.0.1", a.port))
    received = await agent.wait_for(len(packets))
    assert received == packets  # byte for byte, in order
    assert {addr for _, addr in agent.received} == {("127.0.0.1", b.port)}
    stats = await engine.stats(a.endpoint_id)
    assert (stats.received, stats.forwarded, stats.lost) == (236, 236, 0)
    assert stats.latched
    assert stats.remote == caller.address
    caller.close()
    agent.close()


@with_engine
async def test_latching_and_bad_input_are_counted_and_dropped(engine):
    caller, agent, intruder = await open_peer(), await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 8)
    b = await leg(engine, "c1", agent, 8)
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    target = ("127.0.0.1", a.port)
    good = RtpPacket(payload_type=8, sequence_number=1, timestamp=0, ssrc=5, payload=bytes(160))
    caller.send(bytes(good), target)
    await agent.wait_for(1)
    intruder.send(bytes(good), target)  # after latching: another source is refused
    bad = [
        b"\x80",  # truncated
        b"\x40" + bytes(20),  # RTP version 1
        bytes(RtpPacket(payload_type=18, sequence_number=2, ssrc=5)),  # not offered
        bytes([0xA0]) + bytes(11) + b"\xff",  # padding longer than the packet
        bytes([0x90]) + bytes(11),  # extension announced, missing
        b"\x81\xc9\x00\x01" + bytes(4),  # RTCP RR that announces a block it lacks
    ]
    for raw in bad:
        caller.send(raw, target)
    last = RtpPacket(payload_type=8, sequence_number=2, timestamp=160, ssrc=5, payload=b"x" * 160)
    caller.send(bytes(last), target)
    received = await agent.wait_for(2)
    assert received == [bytes(good), bytes(last)]  # still relaying after all that
    # RTCP from the caller's host but another port (no rtcp-mux) is the peer's; from another
    # host it is not.
    elsewhere = await open_peer("127.0.0.2")
    intruder.send(bytes(RtcpReceiverReport(5, [])), target)
    elsewhere.send(bytes(RtcpReceiverReport(5, [])), target)
    await asyncio.sleep(0.05)
    stats = await engine.stats(a.endpoint_id)
    assert stats.dropped_unexpected_source == 2
    assert stats.dropped_unknown_payload_type == 1
    assert stats.dropped_malformed == 5
    assert stats.rtcp_received == 2
    for peer in (caller, agent, intruder, elsewhere):
        peer.close()


@with_engine
async def test_ssrc_jump_and_huge_timestamp_gap_do_not_break_the_relay(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 0)
    b = await leg(engine, "c1", agent, 0)
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    packets = [
        bytes(RtpPacket(payload_type=0, sequence_number=s, timestamp=ts, ssrc=ssrc))
        for s, ts, ssrc in [(1, 0, 1), (2, 160, 1), (3, 2**31, 1), (500, 7, 2), (501, 167, 2)]
    ]
    await caller.send_all(packets, ("127.0.0.1", a.port))
    assert len(await agent.wait_for(5)) == 5
    stats = await engine.stats(a.endpoint_id)
    assert stats.ssrc_changes == 1
    assert stats.received == 5
    caller.close()
    agent.close()


@with_engine
async def test_different_codecs_are_transcoded(engine):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 8)  # the carrier sends A-law
    b = await leg(engine, "c1", agent, 0)  # the agent's phone chose µ-law
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    packets = pcap_payloads(G711A)[:20]
    await caller.send_all(packets, ("127.0.0.1", a.port))
    received = [RtpPacket.parse(raw) for raw in await agent.wait_for(20)]
    sent = [RtpPacket.parse(raw) for raw in packets]
    assert [p.payload_type for p in received] == [0] * 20
    assert [p.sequence_number for p in received] == [p.sequence_number for p in sent]
    expected = pcmu().encoder().encode(pcma().decoder().decode(sent[5].payload))
    assert received[5].payload == expected
    caller.close()
    agent.close()


@with_engine
async def test_recording_of_a_bridged_call_has_each_party_on_its_side(engine, tmp_path):
    caller, agent = await open_peer(), await open_peer()
    a = await leg(engine, "c1", caller, 8)
    b = await leg(engine, "c1", agent, 0)
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    path = tmp_path / "rec" / "c1.wav"
    assert await engine.execute(StartRecording("c1", a.endpoint_id, b.endpoint_id, str(path))) == (
        Done()
    )
    assert isinstance(await engine.execute(StartRecording("c1", "x", "y", str(path))), Failed)
    t = np.arange(8000) / 8000
    low = pcma().encoder().encode((8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    high = pcmu().encoder().encode((8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16))
    for index in range(50):
        chunk = slice(index * 160, (index + 1) * 160)
        caller.send(bytes(RtpPacket(8, index, index * 160, 1, low[chunk])), ("127.0.0.1", a.port))
        agent.send(bytes(RtpPacket(0, index, index * 160, 2, high[chunk])), ("127.0.0.1", b.port))
        if index % 10 == 9:
            await asyncio.sleep(0.005)
    await caller.wait_for(50)
    await agent.wait_for(50)
    assert await engine.execute(PauseRecording("c1")) == Done()
    assert await engine.execute(ResumeRecording("c1")) == Done()
    meta = await engine.execute(StopRecording("c1"))
    assert isinstance(meta, RecordingMetadata)
    assert meta.codecs == ("PCMA", "PCMU")
    audio = read_wav(path)
    assert audio.channels == 2
    assert audio.duration >= 1.0
    assert peak(audio.channel(0)[:8000]) == pytest.approx(440, abs=5)
    assert peak(audio.channel(1)[:8000]) == pytest.approx(1000, abs=5)
    caller.close()
    agent.close()


@with_engine
async def test_rfc4733_digits_from_the_sipp_captures_are_collected(engine):
    caller = await open_peer()
    a = await leg(engine, "c1", caller, 8)
    for name in ("1", "star", "0", "pound"):
        # Each capture is its own stream (its own SSRC), as a phone sending keys would not be;
        # the endpoint follows the SSRC change.
        await caller.send_all(pcap_payloads(SIPP / f"dtmf_2833_{name}.pcap"), ("127.0.0.1", a.port))
        await asyncio.sleep(0.01)
    for _ in range(100):
        stats = await engine.stats(a.endpoint_id)
        if len(stats.dtmf) == 4:
            break
        await asyncio.sleep(0.01)
    assert stats.dtmf == ("1", "*", "0", "#")
    caller.close()


@with_engine
async def test_playback_and_dtmf_sending_reach_the_peer(engine):
    phone = await open_peer()
    a = await leg(engine, "c1", phone, 0)
    assert await engine.execute(PlayTone(a.endpoint_id, (440.0,), 0.4)) == Done()
    packets = [RtpPacket.parse(raw) for raw in await phone.wait_for(20)]
    assert len(packets) == 20
    assert len({p.ssrc for p in packets}) == 1
    seqs = [p.sequence_number for p in packets]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(20)]
    audio = pcmu().decoder().decode(b"".join(p.payload for p in packets))
    assert peak(audio) == pytest.approx(440, abs=10)
    phone.received.clear()
    assert await engine.execute(SendDtmf(a.endpoint_id, "7#")) == Done()
    events = [RtpPacket.parse(raw) for raw in await phone.wait_for(14)]
    assert len(events) == 14  # per digit: 4 updates and the end packet 3 times
    receiver = TelephoneEventReceiver()
    digits = [receiver.receive(p.payload, p.timestamp) for p in events if p.payload_type == 101]
    assert [d.digit for d in digits if d] == ["7", "#"]
    phone.send(bytes(RtcpReceiverReport(1, [])), ("127.0.0.1", a.port))
    await asyncio.sleep(0.02)
    assert (await engine.stats(a.endpoint_id)).rtcp_received == 1
    phone.close()


@with_engine
async def test_unknown_endpoints_and_codecs_fail_cleanly(engine):
    assert isinstance(await engine.execute(Bridge("nope", "nada")), Failed)
    endpoint = await engine.allocate(Allocate("c1", codecs=(CodecOffer("PCMA", 8),)))
    refused = await engine.execute(SetRemote(endpoint.endpoint_id, "127.0.0.1", 9, 0))
    assert isinstance(refused, Failed)
    assert "payload type 0" in refused.reason
    assert await engine.execute(Release(endpoint.endpoint_id)) == Done()
    assert isinstance(await engine.execute(Release(endpoint.endpoint_id)), Failed)


TONES = {"customer": 400.0, "agent": 1000.0, "supervisor": 1800.0}


def tones_in(packets: list[bytes]) -> set[float]:
    audio = pcmu().decoder().decode(b"".join(RtpPacket.parse(raw).payload for raw in packets))
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64) * np.hanning(len(audio))))
    return {f for f in TONES.values() if spectrum[int(f * len(audio) / 8000)] > spectrum.max() / 10}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("listen", {"customer": {1000.0}, "agent": {400.0}, "supervisor": {400.0, 1000.0}}),
        (
            "whisper",
            {"customer": {1000.0}, "agent": {400.0, 1800.0}, "supervisor": {400.0, 1000.0}},
        ),
        (
            "participant",  # barge
            {"customer": {1000.0, 1800.0}, "agent": {400.0, 1800.0}, "supervisor": {400.0, 1000.0}},
        ),
    ],
)
@with_engine
async def test_conference_roles_by_tone_frequency(engine, role, expected):
    peers = {who: await open_peer() for who in TONES}
    ends = {who: await leg(engine, "conf-call", peers[who], 0) for who in TONES}
    for who in ("customer", "agent"):
        assert await engine.execute(JoinConference("conf", ends[who].endpoint_id)) == Done()
    whisper_to = (ends["agent"].endpoint_id,) if role == "whisper" else ()
    join = JoinConference("conf", ends["supervisor"].endpoint_id, role, whisper_to)
    assert await engine.execute(join) == Done()
    speech = {who: pcmu().encoder().encode(tone((f,), 1.2, 0.2)) for who, f in TONES.items()}
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(60):  # 1.2 s at the real packet rate, as phones send
        for who, peer in peers.items():
            payload = speech[who][index * 160 : (index + 1) * 160]
            packet = RtpPacket(0, index, index * 160, list(TONES).index(who) + 1, payload)
            peer.send(bytes(packet), ("127.0.0.1", ends[who].port))
        await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))
    await asyncio.sleep(0.1)
    for who, peer in peers.items():
        received = [data for data, _ in peer.received if not 192 <= data[1] <= 223]
        assert len(received) >= 40, who
        assert tones_in(received[10:]) == expected[who], who  # after the buffers filled
        peer.close()
    assert await engine.execute(
        SetConferenceRole("conf", ends["customer"].endpoint_id, "bogus")
    ) == (Failed("SetConferenceRole: 'bogus' is not a valid Role"))
    assert await engine.execute(LeaveConference("conf", ends["supervisor"].endpoint_id)) == Done()


def tones_of(audio: np.ndarray) -> set[float]:
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64) * np.hanning(len(audio))))
    return {f for f in TONES.values() if spectrum[int(f * len(audio) / 8000)] > spectrum.max() / 10}


@pytest.mark.parametrize(
    ("role", "heard_by_customer"),
    [
        ("participant", {1000.0, 1800.0}),  # a barging supervisor (or a conference's third party)
        ("whisper", {1000.0}),  # coaching the agent only: the customer never heard it
    ],
)
@with_engine
async def test_a_recorded_mix_keeps_everyone_the_customer_hears(
    engine, tmp_path, role, heard_by_customer
):
    """Left: the customer; right: what the customer hears. Before the mix and after it, the
    right channel is the agent's own RTP again."""
    peers = {who: await open_peer() for who in TONES}
    ends = {who: await leg(engine, "rec-mix", peers[who], 0) for who in TONES}
    customer, agent = ends["customer"].endpoint_id, ends["agent"].endpoint_id
    await engine.execute(Bridge(customer, agent))
    path = tmp_path / "rec-mix.wav"
    assert await engine.execute(StartRecording("rec-mix", customer, agent, str(path))) == Done()
    speech = {who: pcmu().encoder().encode(tone((f,), 3.6, 0.2)) for who, f in TONES.items()}
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def talk(first: int, count: int, speakers: tuple[str, ...]) -> None:
        for index in range(first, first + count):
            for who in speakers:
                payload = speech[who][index * 160 : (index + 1) * 160]
                packet = RtpPacket(0, index, index * 160, list(TONES).index(who) + 1, payload)
                peers[who].send(bytes(packet), ("127.0.0.1", ends[who].port))
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))

    await talk(0, 50, ("customer", "agent"))  # 1 s bridged
    await engine.execute(JoinConference("rec-mix", customer))
    await engine.execute(JoinConference("rec-mix", agent))
    whisper_to = (agent,) if role == "whisper" else ()
    await engine.execute(
        JoinConference("rec-mix", ends["supervisor"].endpoint_id, role, whisper_to)
    )
    await talk(50, 60, tuple(TONES))  # 1.2 s in the mix
    for who in ("supervisor", "customer", "agent"):
        await engine.execute(LeaveConference("rec-mix", ends[who].endpoint_id))
    await engine.execute(Bridge(customer, agent))
    await talk(110, 50, ("customer", "agent"))  # 1 s bridged again
    meta = await engine.execute(StopRecording("rec-mix"))
    assert isinstance(meta, RecordingMetadata)
    for peer in peers.values():
        peer.close()

    audio = read_wav(path)
    left, right = audio.channel(0), audio.channel(1)
    # Whole seconds well inside each part (the mix's jitter buffers add a few frames).
    assert tones_of(left[2000:7000]) == {400.0}
    assert tones_of(right[2000:7000]) == {1000.0}
    assert tones_of(left[10000:16000]) == {400.0}
    assert tones_of(right[10000:16000]) == heard_by_customer
    end = len(right)
    assert tones_of(left[end - 6000 : end - 1000]) == {400.0}
    assert tones_of(right[end - 6000 : end - 1000]) == {1000.0}


@with_engine
async def test_progress_tone_follows_the_china_busy_cadence(engine):
    phone = await open_peer()
    a = await leg(engine, "c1", phone, 0)
    assert await engine.execute(PlayProgressTone(a.endpoint_id, "cn", "busy")) == Done()
    packets = [RtpPacket.parse(raw) for raw in await phone.wait_for(35)]
    audio = pcmu().decoder().decode(b"".join(p.payload for p in packets[:35]))
    burst, gap = audio[: int(0.35 * 8000)], audio[int(0.36 * 8000) : int(0.7 * 8000)]
    assert peak(burst) == pytest.approx(450, abs=10)
    assert np.abs(gap.astype(np.int32)).max() < 16
    unknown = await engine.execute(PlayProgressTone(a.endpoint_id, "cn", "howler"))
    assert isinstance(unknown, Failed)
    phone.close()


@with_engine
async def test_music_on_hold_loops_without_events_until_stopped(engine):
    phone = await open_peer()
    a = await leg(engine, "c1", phone, 0)
    assert await engine.execute(PlayMusicOnHold(a.endpoint_id)) == Done()
    packets = [RtpPacket.parse(raw) for raw in await phone.wait_for(25)]
    audio = pcmu().decoder().decode(b"".join(p.payload for p in packets))
    assert np.abs(audio.astype(np.int32)).max() > 1000  # audible, not silence
    assert await engine.execute(StopPlayback(a.endpoint_id)) == Done()
    await asyncio.sleep(0.1)
    phone.received.clear()
    await asyncio.sleep(0.1)
    assert phone.received == []  # stopped: nothing more is sent
    assert engine._events.empty()  # neither the loop nor the stop reports PlaybackFinished
    phone.close()


@with_engine
async def test_inband_dtmf_is_detected_on_a_leg_that_asks_for_it(engine):
    # The carrier sends its keys as tones in PCMU audio (the sox fixture), no telephone-event.
    phone = await open_peer()
    endpoint = await engine.allocate(Allocate("c1", inband_dtmf=True))
    await engine.execute(SetRemote(endpoint.endpoint_id, *phone.address, 0))
    audio = read_wav(Path(__file__).parents[2] / "fixtures" / "media" / "dtmf_inband_noisy.wav")
    payload = pcmu().encoder().encode(audio.channel(0))
    packets = [
        bytes(RtpPacket(0, i, i * 160, 9, payload[i * 160 : (i + 1) * 160]))
        for i in range(len(payload) // 160)
    ]
    await phone.send_all(packets, ("127.0.0.1", endpoint.port))
    for _ in range(100):
        stats = await engine.stats(endpoint.endpoint_id)
        if stats.received == len(packets):
            break
        await asyncio.sleep(0.01)
    assert "".join(stats.dtmf) == "1234567890*#ABCD"
    phone.close()


@with_engine
async def test_g729_carrier_is_transcoded_for_a_pcmu_agent(engine):
    g729 = (CodecOffer("G729", 18), CodecOffer("telephone-event", 101))
    carrier, agent = await open_peer(), await open_peer()
    a = await engine.allocate(Allocate("c1", codecs=g729))
    b = await engine.allocate(Allocate("c1"))
    await engine.execute(SetRemote(a.endpoint_id, *carrier.address, 18))
    await engine.execute(SetRemote(b.endpoint_id, *agent.address, 0))
    await engine.execute(Bridge(a.endpoint_id, b.endpoint_id))
    codec = default_registry().get("G729")
    payload = codec.encoder().encode(tone((440.0,), 1.0, 0.25))
    packets = [
        bytes(RtpPacket(18, i, i * 160, 4, payload[i * 20 : (i + 1) * 20])) for i in range(50)
    ]
    await carrier.send_all(packets, ("127.0.0.1", a.port))
    received = [RtpPacket.parse(raw) for raw in await agent.wait_for(50)]
    assert len(received) == 50
    assert {p.payload_type for p in received} == {0}
    assert {len(p.payload) for p in received} == {160}
    audio = pcmu().decoder().decode(b"".join(p.payload for p in received))
    assert peak(audio[800:]) == pytest.approx(440, abs=8)
    carrier.close()
    agent.close()


@with_engine
async def test_events_report_each_key_once_and_barge_in_stops_the_prompt(engine, tmp_path):
    prompt = tmp_path / "prompt.wav"
    writer = WavWriter(prompt, 16000, 1)  # any rate: resampled to 8 kHz
    writer.write(tone((440.0,), 2.0))  # 16000 samples: 1 s at 16 kHz, resampled to 8 kHz
    writer.close()
    caller = await open_peer()
    a = await leg(engine, "ivr", caller, 8)
    assert await engine.execute(PlayFile(a.endpoint_id, str(prompt), stop_on_dtmf=True)) == Done()
    await caller.wait_for(5)
    await caller.send_all(pcap_payloads(SIPP / "dtmf_2833_5.pcap"), ("127.0.0.1", a.port))
    first = await asyncio.wait_for(engine.next_event(), 5)
    second = await asyncio.wait_for(engine.next_event(), 5)
    assert first == DtmfReceived("ivr", a.endpoint_id, "5", "rfc4733")
    assert second == PlaybackFinished("ivr", a.endpoint_id, interrupted=True)
    sent_before = (await engine.stats(a.endpoint_id)).sent
    await asyncio.sleep(0.1)
    assert (await engine.stats(a.endpoint_id)).sent == sent_before  # the prompt really stopped
    assert await engine.execute(PlayTone(a.endpoint_id, (440.0,), 0.1)) == Done()
    finished = await asyncio.wait_for(engine.next_event(), 5)
    assert finished == PlaybackFinished("ivr", a.endpoint_id, interrupted=False)
    caller.close()


@with_engine
async def test_recording_decodes_by_payload_type_even_before_any_sdp(engine, tmp_path):
    caller = await open_peer()
    a = await engine.allocate(Allocate("c9"))  # no SetRemote: codec unknown, learnt from PT
    b = await engine.allocate(Allocate("c9"))
    path = tmp_path / "early.wav"
    assert await engine.execute(StartRecording("c9", a.endpoint_id, b.endpoint_id, str(path))) == (
        Done()
    )
    payload = pcma().encoder().encode(tone((440.0,), 0.5, 0.25))
    packets = [
        bytes(RtpPacket(8, i, i * 160, 3, payload[i * 160 : (i + 1) * 160])) for i in range(25)
    ]
    await caller.send_all(packets, ("127.0.0.1", a.port))
    for _ in range(100):
        if (await engine.stats(a.endpoint_id)).received == 25:
            break
        await asyncio.sleep(0.01)
    meta = await engine.execute(StopRecording("c9"))
    assert isinstance(meta, RecordingMetadata)
    assert meta.codecs[0] == "PCMA"
    left = read_wav(path).channel(0)
    start = int(np.flatnonzero(left)[0])
    assert peak(left[start : start + 4000]) == pytest.approx(440, abs=5)
    caller.close()


def test_ports_come_from_the_configured_range_skipping_busy_ones():
    async def body() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1] & ~1
        if base + 40 > 65535:
            base = 40000
        engine = LocalMediaEngine(WorkerConfig(port_range=(base, base + 40)))
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            busy.bind(("127.0.0.1", base + 2))  # the first port the engine will try
        except OSError:
            busy.close()
            pytest.skip("the probed range is in use")
        try:
            endpoint = await engine.allocate(Allocate("c1"))
            assert base <= endpoint.port <= base + 40
            assert endpoint.port % 2 == 0
            assert endpoint.port != base + 2
        finally:
            busy.close()
            await engine.close()

    in_own_loop(body)()

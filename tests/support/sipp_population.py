"""SIPp peers for an outbound campaign: a customer population behind a trunk and an agent farm.

**The population** is one SIPp UAS playing every customer a campaign dials, as the carrier
of a trunk. What a customer does is written in its number, so a test knows exactly what
each contact did without asking SIPp: the fourth digit from the end is the behaviour
(``+86 21 6888 1xxx`` answers, ``2xxx`` is busy, ``3xxx`` never answers, ``4xxx`` does not
exist, ``5xxx`` is an answering machine, ``6xxx`` a person who says "喂, 你好?" and waits),
read by SIPp with a regular expression on the Request-URI and a ``test``/``next`` branch
per behaviour:

- *answer*: 180, a ring drawn uniformly from ``ring_ms`` (SIPp's
  ``<pause distribution="uniform">``), 200 with PCMA, then an A-law tone until the node hangs
  up or the customer's talk time (drawn uniformly from ``talk_s``) runs out, when the
  customer hangs up with its own in-dialog BYE;
- *busy*: 486 Busy Here; *invalid*: 404 Not Found;
- *no answer*: 180, then it rings until the node gives up and CANCELs (200 to the CANCEL,
  487 to the INVITE);
- *machine* and *human* (only in a scenario given their recordings, else they get 480):
  answered like *answer*, then one WAV streamed once (:func:`machine_greeting`: a voicemail
  greeting ending in a 1 kHz beep, then silence while the mailbox records;
  :func:`short_greeting`: a person's "喂, 你好?", then the silence of someone waiting for us),
  then on the line until the node (or, for a person, the agent) hangs up; after
  ``hold_s`` seconds the customer hangs up itself.

The node's OPTIONS probes are answered 200, as a carrier does. The recordings are rendered
at test time like ``bench/dialer/amd_corpus.py``'s corpus (espeak-ng, 8 kHz), and stored as
A-law WAVs, which SIPp's ``rtp_stream`` sends as PCMA.

**The agent farm** is one SIPp UAS answering every INVITE (at once, or with
``answer_after_ms`` after a 180: a slow phone, which the node may CANCEL meanwhile) for all
the agents it registered, echoing their RTP (``-rtp_echo``) and hanging up after a talk time drawn
uniformly from ``talk_s`` unless the node hangs up first. It registers each agent with a
SIPp UAC (digest: ``[authentication]``) sent *from the farm's own port* before the farm
starts listening there: the node sends INVITEs to the address a phone registered from.

A talk time that either side may cut short cannot be one ``<pause>`` (a BYE arriving during
a pause is an unexpected message to SIPp), so both scenarios wait for the BYE in one-second
``recv`` timeouts and count the seconds down in a variable (``sample``, ``add``, ``test``).

**What a customer heard** is read from a capture of the loopback (``dumpcap``, as root):
:class:`RtpCapture` keeps the RTP sent to the population's media port, :func:`rtp_packets`
reads it, and :func:`sounds` decodes what the node sent from one call's port (the port of
its SDP offer, :func:`offered_ports`) and tells notes (hold music) from speech, so a test
can tell when the node spoke to a customer.
"""

from __future__ import annotations

import random
import re
import struct
import subprocess
import time
import wave
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np
import numpy.typing as npt
from bench.dialer.amd_corpus import Case, Renderer

from hotline.media.g711 import pcma
from tests.support.demo_node import wait_until

Behaviour = Literal["answer", "busy", "no_answer", "invalid", "machine", "human"]

#: The digit (fourth from the end of the number) that says what a customer does.
BEHAVIOUR_DIGITS: dict[Behaviour, str] = {
    "answer": "1",
    "busy": "2",
    "no_answer": "3",
    "invalid": "4",
    "machine": "5",
    "human": "6",
}
#: The SIP status each refusing behaviour answers with.
REFUSALS: dict[Behaviour, str] = {"busy": "486 Busy Here", "invalid": "404 Not Found"}
PREFIX = "+86216888"  # Shanghai, +86 21 6888 ....


@dataclass(frozen=True, slots=True)
class Customer:
    number: str  # E.164
    behaviour: Behaviour

    @property
    def national(self) -> str:
        """As a Chinese list writes it: ``021 6888 1001``."""
        local = self.number.removeprefix("+86")
        return f"0{local[:2]} {local[2:6]} {local[6:]}"


def behaviour_of(number: str) -> Behaviour:
    """What the customer with ``number`` (any format ending in its four digits) does."""
    digits = re.sub(r"\D", "", number)
    for behaviour, digit in BEHAVIOUR_DIGITS.items():
        if digits[-4] == digit:
            return behaviour
    raise ValueError(f"{number}: not a number of the population")


def population(count: int, mix: Mapping[Behaviour, float], seed: int) -> list[Customer]:
    """``count`` customers whose behaviours follow ``mix`` (fractions that add up to 1;
    rounded to whole customers, the remainder to the first behaviour), in a seeded random
    order."""
    numbers = {behaviour: round(count * share) for behaviour, share in mix.items()}
    first = next(iter(mix))
    numbers[first] += count - sum(numbers.values())
    behaviours = [b for b, n in numbers.items() for _ in range(n)]
    random.Random(seed).shuffle(behaviours)
    serials: Counter[Behaviour] = Counter()
    customers = []
    for behaviour in behaviours:
        serials[behaviour] += 1
        if serials[behaviour] > 999:
            raise ValueError("at most 999 customers per behaviour")
        number = f"{PREFIX}{BEHAVIOUR_DIGITS[behaviour]}{serials[behaviour]:03d}"
        customers.append(Customer(number, behaviour))
    return customers


# ---- what machines and people say --------------------------------------------------------------

#: A mailbox's greeting, long and in Mandarin (one of ``amd_corpus``'s).
MACHINE_GREETING = "您好, 我现在不方便接听电话, 请在嘀声后留言, 我会尽快给您回电."
#: A person's greeting: they wait for us after it.
HUMAN_GREETING = "喂, 你好?"


@dataclass(frozen=True, slots=True)
class Greeting:
    """A recording a customer plays once after the answer, as an A-law WAV for SIPp."""

    wav: Path
    speech_s: float  # the rendered speech alone
    end_s: float  # from the answer to the end of the greeting, its beep included
    length_s: float  # the whole WAV, the silence after the greeting included


def _greeting(directory: Path, name: str, case: Case, silence_s: float) -> Greeting:
    rendered = Renderer(directory).render(case)  # lead, speech, [gap, beep], 4 s of silence
    end = rendered.beep_end_s or case.lead_s + rendered.speech_s
    signal = np.concatenate([rendered.signal, np.zeros(round(silence_s * 8000))])
    pcm = np.asarray(np.clip(np.round(signal), -32768, 32767), dtype="<i2")
    linear = directory / f"{name}-pcm.wav"
    with wave.open(str(linear), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm.tobytes())
    wav = directory / f"{name}.wav"
    subprocess.run(
        ["sox", str(linear), "-r", "8000", "-c", "1", "-e", "a-law", "-b", "8", str(wav)],
        check=True,
        capture_output=True,
    )
    return Greeting(wav, rendered.speech_s, end, pcm.size / 8000)


def machine_greeting(directory: Path, text: str = MACHINE_GREETING) -> Greeting:
    """A voicemail greeting (espeak-ng's Mandarin voice, -18 dBFS) after 0.3 s, a 1 kHz
    400 ms beep 0.2-0.6 s after it, then 30 s of silence: the mailbox records."""
    case = Case(
        "machine-greeting", "machine", "zh", text, "espeak-ng", "cmn-latn-pinyin", 175, 0.3,
        -18.0, None, True,
    )  # fmt: skip
    return _greeting(directory, "machine-greeting", case, 26.0)


def short_greeting(directory: Path, text: str = HUMAN_GREETING) -> Greeting:
    """A person answering: 0.3 s, "喂, 你好?" (-20 dBFS), then 30 s of the silence of someone
    waiting for us (sent as packets: silence that sends nothing would not count, docs/amd.md)."""
    case = Case(
        "human-greeting", "human", "zh", text, "espeak-ng", "cmn-latn-pinyin", 175, 0.3,
        -20.0, None, False,
    )  # fmt: skip
    return _greeting(directory, "human-greeting", case, 26.0)


# ---- scenario pieces ---------------------------------------------------------------------------

_REPLY_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]"""


def _reply(status: str, cseq: str = "[last_CSeq:]", extra: str = "") -> str:
    return f"""
  <send>
    <![CDATA[
      SIP/2.0 {status}
      {_REPLY_HEADERS}
      {cseq}
      {extra}Content-Length: 0

    ]]>
  </send>"""


def _answer(name: str, contact: str) -> str:
    return f"""
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      {_REPLY_HEADERS}
      [last_CSeq:]
      Contact: <sip:{contact}@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o={name} 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
    ]]>
  </send>
  <recv request="ACK"/>"""


# The dialog's URIs as the node wrote them in its INVITE (From with the node's tag), for
# the BYE of the side SIPp plays; the INVITE's CSeq number, for the 487 after a CANCEL.
_CAPTURE = (
    '<ereg regexp="&lt;[^&gt;]*&gt;[^[:space:]]*" search_in="hdr" header="From:" '
    'check_it="true" assign_to="nodefrom"/>'
    '<ereg regexp="&lt;[^&gt;]*&gt;" search_in="hdr" header="To:" check_it="true" '
    'assign_to="nodeto"/>'
)
_CAPTURE_CSEQ = (
    '<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true" assign_to="invitecseq"/>'
)


def _talk(label: str, talk_s: tuple[int, int], stream: str) -> str:
    """After the ACK: ``stream`` (an RTP action or nothing), then the talk: the node's
    BYE is answered, or the talk time runs out and SIPp hangs up (label ``{label}bye``)."""
    low, high = talk_s
    return f"""
  <nop>
    <action>
      {stream}
      <sample assign_to="{label}left" distribution="uniform" min="{low}" max="{high + 1}"/>
    </action>
  </nop>
  <label id="{label}talk"/>
  <recv request="BYE" timeout="1000" ontimeout="{label}tick" next="{label}byeok"/>
  <label id="{label}tick"/>
  <nop>
    <action>
      <add assign_to="{label}left" value="-1"/>
      <test assign_to="{label}over" variable="{label}left" compare="less_than" value="1"/>
    </action>
  </nop>
  <nop hide="true" test="{label}over" next="{label}bye"/>
  <nop hide="true" next="{label}talk"/>
  <label id="{label}byeok"/>
  {_reply("200 OK")}
  <nop hide="true" next="done"/>
  <label id="{label}bye"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$nodeto];tag=[pid]SIPpTag01[call_number]
      To: [$nodefrom]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" next="done"/>"""


def _ringing(contact: str) -> str:
    return f"""
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      {_REPLY_HEADERS}
      [last_CSeq:]
      Contact: <sip:{contact}@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>"""


_RINGING = _ringing("customer")


def _cancelled() -> str:
    """After a CANCEL (the message last received): 200 to it, 487 to the INVITE, the ACK;
    then the end (``done``)."""
    return f"""
  {_reply("200 OK")}
  {_reply("487 Request Terminated", cseq="CSeq: [$invitecseq] INVITE")}
  <recv request="ACK" next="done"/>"""


_OPTIONS = f"""
  <label id="options"/>
  {_reply("200 OK")}
  <nop hide="true" next="done"/>"""


def population_scenario(
    talk_wav: Path,
    *,
    ring_ms: tuple[int, int] = (1000, 6000),
    talk_s: tuple[int, int] = (6, 20),
    machine_wav: Path | None = None,
    human_wav: Path | None = None,
    hold_s: int = 90,
) -> str:
    """The population's UAS scenario (see the module docstring); ``talk_wav``: an A-law
    WAV streamed in a loop by every customer who answers; ``machine_wav`` and
    ``human_wav``: what a machine and a person who waits say once after the answer (without
    one, the behaviour is not played: 480). ``hold_s``: how long they stay on the line."""
    recordings: dict[Behaviour, Path | None] = {"machine": machine_wav, "human": human_wav}
    played = {behaviour: wav for behaviour, wav in recordings.items() if wav is not None}
    behaviours = [b for b in BEHAVIOUR_DIGITS if b not in ("machine", "human") or b in played]
    matches = "".join(
        f'<ereg regexp="^INVITE sip:[^@]*{BEHAVIOUR_DIGITS[behaviour]}[0-9]{{3}}@" '
        f'search_in="msg" check_it="false" assign_to="is{behaviour}"/>'
        for behaviour in behaviours
    )
    branches = "".join(
        f'\n  <nop hide="true" test="is{behaviour}" next="{behaviour}"/>'
        for behaviour in behaviours
    )
    refusals = "".join(
        f'\n  <label id="{behaviour}"/>{_reply(status)}\n  <recv request="ACK" next="done"/>'
        for behaviour, status in REFUSALS.items()
    )
    captures = matches + _CAPTURE + _CAPTURE_CSEQ
    stream = f'<exec rtp_stream="{talk_wav},-1,8"/>'
    low, high = ring_ms
    ring = f'<pause distribution="uniform" min="{low}" max="{high}"/>'
    greetings = "".join(
        f"""
  <label id="{behaviour}"/>{_RINGING}
  {ring}{_answer("customer", "customer")}
  {_talk(behaviour, (hold_s, hold_s), f'<exec rtp_stream="{wav},1,8"/>')}"""
        for behaviour, wav in played.items()
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="customer population">
  <recv request="OPTIONS" optional="true" next="options"/>
  <recv request="INVITE" rrs="true"><action>{captures}</action></recv>{branches}
  {_reply("480 Temporarily Unavailable")}
  <recv request="ACK" next="done"/>
  <label id="answer"/>{_RINGING}
  {ring}{_answer("customer", "customer")}
  {_talk("customer", talk_s, stream)}{refusals}{greetings}
  <label id="no_answer"/>{_RINGING}
  <recv request="CANCEL"/>{_cancelled()}{_OPTIONS}
  <label id="done"/>
</scenario>
"""


def agent_farm_scenario(*, talk_s: tuple[int, int] = (8, 15), answer_after_ms: int = 0) -> str:
    """The farm's UAS scenario: every INVITE answered at once, or with ``answer_after_ms``
    after a 180 (a CANCEL meanwhile is answered 200 and 487), its RTP echoed by SIPp's
    ``-rtp_echo``, hung up after the talk time unless the node hangs up first."""
    # (SIPp refuses a scenario with a variable set and never used: the INVITE's CSeq is
    # kept only for the 487 of a slow phone.)
    captures, ring = _CAPTURE, ""
    if answer_after_ms > 0:
        captures += _CAPTURE_CSEQ
        ring = f"""{_ringing("agent")}
  <recv request="CANCEL" timeout="{answer_after_ms}" ontimeout="agentanswer"/>{_cancelled()}
  <label id="agentanswer"/>"""
    answer = _answer("agent", "agent")
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent farm">
  <recv request="OPTIONS" optional="true" next="options"/>
  <recv request="INVITE" rrs="true"><action>{captures}</action></recv>{ring}{answer}
  {_talk("agent", talk_s, "")}{_OPTIONS}
  <label id="done"/>
</scenario>
"""


REGISTER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent register">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      [authentication]
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


# ---- processes ---------------------------------------------------------------------------------


class SippPeer:
    """One SIPp UAS in the background on a loopback port, with its message and error logs
    (``-trace_msg``) in ``directory`` (no ``-trace_err``: every one-second ``recv``
    timeout of a talk would be logged there)."""

    def __init__(
        self,
        sipp: str,
        directory: Path,
        name: str,
        scenario: str,
        port: int,
        media_port: int,
        *,
        echo: bool = False,
    ) -> None:
        self.name = name
        self.port = port
        self.media_port = media_port
        self.file = directory / f"{name}.xml"
        self.file.write_text(scenario)
        self.messages = directory / f"{name}-messages.log"
        self.proc = subprocess.Popen(
            [
                sipp,
                *["-sf", str(self.file), "-i", "127.0.0.1", "-p", str(port)],
                *["-mi", "127.0.0.1", "-mp", str(media_port), "-nostdin"],
                *["-trace_msg", "-message_file", str(self.messages)],
                *(["-rtp_echo"] if echo else []),
            ],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def register_agents(
    sipp: str,
    directory: Path,
    registrar_port: int,
    farm_port: int,
    passwords: Mapping[str, str],
) -> None:
    """Register every agent of ``passwords`` (extension -> SIP password) at the node, from
    ``farm_port`` (where the farm will listen), one SIPp UAC after the other."""
    scenario = directory / "register.xml"
    scenario.write_text(REGISTER_SCENARIO)
    for agent, password in passwords.items():
        done = subprocess.run(
            [
                sipp,
                f"127.0.0.1:{registrar_port}",
                *["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(farm_port)],
                *["-s", agent, "-au", agent, "-ap", password],
                *["-m", "1", "-nostdin", "-timeout", "15", "-timeout_error"],
                *["-trace_err", "-error_file", str(directory / f"register-{agent}-errors.log")],
            ],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"agent {agent} did not register (sipp exit {done.returncode}): "
                f"{done.stdout[-1500:]}{done.stderr[-1500:]}"
            )


def by_name(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The row of an API list whose ``name`` is ``name``."""
    return next(row for row in rows if row["name"] == name)


def agents_ready(api: httpx.Client, agents: Sequence[str], queue: str) -> None:
    """Once every agent's phone (the farm) is registered, log them in and make them ready,
    and wait until ``queue`` sees them all available (the directory change that made them
    its members reaches the live ACD within its settle time)."""
    wait_until(
        lambda: all(
            a["phone_registered"]
            for a in api.get("/api/v1/live/agents").json()
            if a["agent_id"] in agents
        ),
        15,
        "the agents' registrations",
    )
    for agent in agents:
        assert api.post(f"/api/v1/live/agents/{agent}/login").status_code == 204
        assert api.post(f"/api/v1/live/agents/{agent}/ready").status_code == 204
    wait_until(
        lambda: (
            by_name(api.get("/api/v1/live/queues").json(), queue)["agents_by_state"].get(
                "available", 0
            )
            == len(agents)
        ),
        15,
        f"{len(agents)} available agents in {queue}",
    )


# ---- reading SIPp's message logs ---------------------------------------------------------------

_MESSAGE = re.compile(
    r"^-{10,} (\S+ \S+)\n(?:UDP|TCP) message (sent|received)[^\n]*\n\n(.*?)(?=^-{10,} |\Z)",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Message:
    direction: Literal["sent", "received"]
    first_line: str
    call_id: str
    cseq: str

    @property
    def status(self) -> int | None:
        parts = self.first_line.split(maxsplit=2)
        return int(parts[1]) if parts[0] == "SIP/2.0" else None

    @property
    def method(self) -> str | None:
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split()[0]


def messages(log: Path) -> list[Message]:
    """Every message of a SIPp ``-trace_msg`` log, in order."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = []
    for match in _MESSAGE.finditer(text):
        _, direction, body = match.groups()
        call_id = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        cseq = re.search(r"^CSeq:\s*(.+?)\s*$", body, re.M | re.I)
        found.append(
            Message(
                "sent" if direction == "sent" else "received",
                body.split("\n", 1)[0].strip(),
                call_id.group(1) if call_id else "",
                cseq.group(1) if cseq else "",
            )
        )
    return found


def invites_by_number(log: Path) -> dict[str, list[str]]:
    """The last four digits of each number dialled -> the Call-IDs of its INVITEs, oldest
    first (a retransmitted INVITE counted once)."""
    found: dict[str, list[str]] = {}
    text = log.read_text(errors="replace") if log.exists() else ""
    for match in _MESSAGE.finditer(text):
        _, direction, body = match.groups()
        invite = re.match(r"INVITE sip:[^@]*?(\d{4})@", body)
        call_id = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        if direction == "received" and invite and call_id:
            calls = found.setdefault(invite.group(1), [])
            if call_id.group(1) not in calls:
                calls.append(call_id.group(1))
    return found


def offered_ports(log: Path) -> dict[str, int]:
    """Call-ID -> the audio port of the SDP offer in the node's INVITE (the port the node
    sends that call's RTP from: it sends and receives on one port)."""
    found: dict[str, int] = {}
    text = log.read_text(errors="replace") if log.exists() else ""
    for match in _MESSAGE.finditer(text):
        _, direction, body = match.groups()
        call_id = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        audio = re.search(r"^m=audio (\d+) ", body, re.M)
        if direction == "received" and body.startswith("INVITE ") and call_id and audio:
            found.setdefault(call_id.group(1), int(audio.group(1)))
    return found


# ---- what the customers heard ------------------------------------------------------------------


class RtpCapture:
    """``dumpcap`` on the loopback keeping the UDP sent to ``port`` (the population's media
    port) in ``directory/name.pcap``, from :meth:`start` to :meth:`stop`. Needs root (or
    dumpcap's capabilities)."""

    def __init__(self, directory: Path, name: str, port: int) -> None:
        self.file = directory / f"{name}.pcap"
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, dumpcap: str) -> None:
        self.proc = subprocess.Popen(
            [
                *[dumpcap, "-q", "-i", "lo", "-f", f"udp dst port {self.port}"],
                *["-P", "-s", "256", "-w", str(self.file)],
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not (self.file.exists() and self.file.stat().st_size >= 24):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                error = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise AssertionError(f"dumpcap did not start: {error[-500:]}")
            time.sleep(0.05)
        time.sleep(0.3)  # the filter is in place once the file header is written; a margin

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    at: float  # capture time, seconds since the epoch
    source_port: int
    payload_type: int
    payload: bytes


def rtp_packets(pcap: Path) -> list[RtpPacket]:
    """The RTP packets of a classic pcap file of the loopback (Ethernet or Linux cooked
    framing, IPv4, UDP), in capture order; UDP that is not RTP version 2 is left out."""
    data = pcap.read_bytes() if pcap.exists() else b""
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    order, fraction = {0xA1B2C3D4: ("<", 1e-6), 0xA1B23C4D: ("<", 1e-9)}.get(magic, (">", 1e-6))
    link = struct.unpack(order + "I", data[20:24])[0]
    framing = {1: 14, 113: 16, 276: 20}[link]
    packets, offset = [], 24
    while offset + 16 <= len(data):
        seconds, part, kept, _ = struct.unpack(order + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + kept]
        offset += 16 + kept
        ip = frame[framing:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2 or 72 <= rtp[1] & 0x7F <= 76:
            continue  # not RTP, or RTCP (packet types 200-204, RFC 5761 section 4)
        start = 12 + 4 * (rtp[0] & 0x0F)
        if rtp[0] & 0x10 and len(rtp) >= start + 4:  # a header extension
            start += 4 + 4 * struct.unpack("!H", rtp[start + 2 : start + 4])[0]
        packets.append(
            RtpPacket(
                seconds + part * fraction,
                struct.unpack("!H", udp[:2])[0],
                rtp[1] & 0x7F,
                bytes(rtp[start:]),
            )
        )
    return packets


@dataclass(frozen=True, slots=True)
class Sound:
    at: float  # capture time of the packet, seconds since the epoch
    level_dbfs: float  # RMS of the packet
    tonal: bool  # steady notes (music on hold, a ringback), not speech


#: How much of a packet's 250-3600 Hz energy its strongest peak (±60 Hz) carries, in the
#: median of the loud packets within 50 ms of it (five of a stream), for a tone: the node's
#: music on hold (a note and its octave at 0.3) gives 0.83-0.92, espeak-ng's speech 0.4 in
#: the median packet and under 0.75 in 99 %; the median keeps a packet across two notes,
#: or one pure vowel, apart.
TONE_PURITY = 0.8


def sounds(
    packets: list[RtpPacket], source_port: int, threshold_dbfs: float = -40.0
) -> list[Sound]:
    """What the PCMA packets sent from ``source_port`` carried at least ``threshold_dbfs``
    loud: when the customer heard the node, and whether it was notes or speech."""
    decoder = pcma().decoder()
    window = np.hanning(160)
    frequencies = np.fft.rfftfreq(1024, 1 / 8000)
    band = (frequencies >= 250) & (frequencies <= 3600)
    loud: list[tuple[float, float, float]] = []  # (time, level, purity)
    for packet in packets:
        if packet.source_port != source_port or packet.payload_type != 8 or not packet.payload:
            continue
        samples: npt.NDArray[np.float64] = decoder.decode(packet.payload).astype(np.float64)
        level = 20 * np.log10(max(float(np.sqrt(np.mean(samples**2))), 1.0) / 32768.0)
        if level < threshold_dbfs:
            continue
        power = np.abs(np.fft.rfft(samples * window[: samples.size], 1024)) ** 2
        in_band = np.where(band, power, 0.0)
        peak = frequencies[int(np.argmax(in_band))]
        purity = in_band[np.abs(frequencies - peak) <= 60].sum() / max(in_band.sum(), 1e-9)
        loud.append((packet.at, float(level), float(purity)))
    times = np.array([at for at, _, _ in loud])
    purities = np.array([purity for _, _, purity in loud])
    return [
        Sound(at, level, float(np.median(purities[np.abs(times - at) <= 0.05])) >= TONE_PURITY)
        for at, level, _ in loud
    ]

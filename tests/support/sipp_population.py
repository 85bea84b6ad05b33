"""SIPp peers for an outbound campaign: a customer population behind a trunk and an agent farm.

**The population** is one SIPp UAS playing every customer a campaign dials, as the carrier
of a trunk. What a customer does is written in its number, so a test knows exactly what
each contact did without asking SIPp: the fourth digit from the end is the behaviour
(``+86 21 6888 1xxx`` answers, ``2xxx`` is busy, ``3xxx`` never answers, ``4xxx`` does not
exist), read by SIPp with a regular expression on the Request-URI and a ``test``/``next``
branch per behaviour:

- *answer*: 180, a ring drawn uniformly from ``ring_ms`` (SIPp's
  ``<pause distribution="uniform">``), 200 with PCMA, then an A-law tone until the node hangs
  up or the customer's talk time (drawn uniformly from ``talk_s``) runs out, when the
  customer hangs up with its own in-dialog BYE;
- *busy*: 486 Busy Here; *invalid*: 404 Not Found;
- *no answer*: 180, then it rings until the node gives up and CANCELs (200 to the CANCEL,
  487 to the INVITE).

The node's OPTIONS probes are answered 200, as a carrier does.

**The agent farm** is one SIPp UAS answering every INVITE at once for all the agents it
registered, echoing their RTP (``-rtp_echo``) and hanging up after a talk time drawn
uniformly from ``talk_s`` unless the node hangs up first. It registers each agent with a
SIPp UAC (digest: ``[authentication]``) sent *from the farm's own port* before the farm
starts listening there: the node sends INVITEs to the address a phone registered from.

A talk time that either side may cut short cannot be one ``<pause>`` (a BYE arriving during
a pause is an unexpected message to SIPp), so both scenarios wait for the BYE in one-second
``recv`` timeouts and count the seconds down in a variable (``sample``, ``add``, ``test``).
"""

from __future__ import annotations

import random
import re
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Behaviour = Literal["answer", "busy", "no_answer", "invalid"]

#: The digit (fourth from the end of the number) that says what a customer does.
BEHAVIOUR_DIGITS: dict[Behaviour, str] = {
    "answer": "1",
    "busy": "2",
    "no_answer": "3",
    "invalid": "4",
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


_RINGING = """
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:customer@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>"""

_OPTIONS = f"""
  <label id="options"/>
  {_reply("200 OK")}
  <nop hide="true" next="done"/>"""


def population_scenario(
    talk_wav: Path, *, ring_ms: tuple[int, int] = (1000, 6000), talk_s: tuple[int, int] = (6, 20)
) -> str:
    """The population's UAS scenario (see the module docstring); ``talk_wav``: an A-law
    WAV streamed in a loop by every customer who answers."""
    matches = "".join(
        f'<ereg regexp="^INVITE sip:[^@]*{digit}[0-9]{{3}}@" search_in="msg" '
        f'check_it="false" assign_to="is{behaviour}"/>'
        for behaviour, digit in BEHAVIOUR_DIGITS.items()
    )
    branches = "".join(
        f'\n  <nop hide="true" test="is{behaviour}" next="{behaviour}"/>'
        for behaviour in BEHAVIOUR_DIGITS
    )
    refusals = "".join(
        f'\n  <label id="{behaviour}"/>{_reply(status)}\n  <recv request="ACK" next="done"/>'
        for behaviour, status in REFUSALS.items()
    )
    captures = matches + _CAPTURE + _CAPTURE_CSEQ
    stream = f'<exec rtp_stream="{talk_wav},-1,8"/>'
    low, high = ring_ms
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="customer population">
  <recv request="OPTIONS" optional="true" next="options"/>
  <recv request="INVITE" rrs="true"><action>{captures}</action></recv>{branches}
  {_reply("480 Temporarily Unavailable")}
  <recv request="ACK" next="done"/>
  <label id="answer"/>{_RINGING}
  <pause distribution="uniform" min="{low}" max="{high}"/>{_answer("customer", "customer")}
  {_talk("customer", talk_s, stream)}{refusals}
  <label id="no_answer"/>{_RINGING}
  <recv request="CANCEL"/>
  {_reply("200 OK")}
  {_reply("487 Request Terminated", cseq="CSeq: [$invitecseq] INVITE")}
  <recv request="ACK" next="done"/>{_OPTIONS}
  <label id="done"/>
</scenario>
"""


def agent_farm_scenario(*, talk_s: tuple[int, int] = (8, 15)) -> str:
    """The farm's UAS scenario: every INVITE answered at once (RTP echoed by SIPp's
    ``-rtp_echo``), hung up after the talk time unless the node hangs up first."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent farm">
  <recv request="OPTIONS" optional="true" next="options"/>
  <recv request="INVITE" rrs="true"><action>{_CAPTURE}</action></recv>{_answer("agent", "agent")}
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

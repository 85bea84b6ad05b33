"""SIPp scenarios for a carrier's side of a trunk: answers OPTIONS probes and takes INVITEs.

Every new Call-ID starts the scenario from the top, so one scenario serves both the node's
health probes (OPTIONS, answered 200) and the outbound calls (INVITE), whichever comes: the
OPTIONS ``recv`` is optional and jumps to its own branch. An INVITE is then refused with
503 (``reject``), answered with a looped A-law tone until the node's BYE (``answer``), or
first challenged with a 401 digest and answered only if SIPp's ``verifyauth`` accepts the
credentials, else refused with 403 (``challenge``). ``refuse`` picks INVITEs by their
Request-URI (a regular expression) and answers them with a status of their own, so one
carrier can be busy for one number and answer another.

A carrier can also let the customer's phone ring a while before answering
(``answer_after_ms``: a pause between the 180 and the 200), and play a customer who hangs up
when the test says so (``hang_up_on_info``): an in-dialog INFO that the test sends to SIPp
with the call's Call-ID (:func:`hang_up`, the Call-ID from :func:`invite_call_ids`) makes
the scenario send its own BYE. SIPp keeps sending to the node (the call's first peer), so
the trigger is never answered and the node sees only the BYE.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

_REPLY_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]"""


def _reply(status: str, extra: str = "") -> str:
    return f"""
  <send>
    <![CDATA[
      SIP/2.0 {status}
      {_REPLY_HEADERS}
      {extra}Content-Length: 0

    ]]>
  </send>"""


_ANSWER = """
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      {headers}
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>{pause}
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      {headers}
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
    ]]>
  </send>
  <recv request="ACK"/>
  {stream}{trigger}
  <recv request="BYE"/>
  <send next="done">
    <![CDATA[
      SIP/2.0 200 OK
      {headers}
      Content-Length: 0

    ]]>
  </send>"""

# The customer hangs up: the node's Contact (``rrs`` on the INVITE) is the Request-URI, the
# dialog's URIs and the node's tag come from the INVITE (``nodefrom``, ``nodeto``).
_HANG_UP = """
  <label id="hangup"/>
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

_CAPTURE_DIALOG = (
    '<ereg regexp="&lt;[^&gt;]*&gt;[^[:space:]]*" search_in="hdr" header="From:" '
    'check_it="true" assign_to="nodefrom"/>'
    '<ereg regexp="&lt;[^&gt;]*&gt;" search_in="hdr" header="To:" check_it="true" '
    'assign_to="nodeto"/>'
)


def carrier_scenario(
    mode: Literal["reject", "answer", "challenge"],
    *,
    talk_wav: Path | None = None,
    username: str = "",
    password: str = "",
    refuse: Mapping[str, str] | None = None,
    answer_after_ms: int = 0,
    hang_up_on_info: bool = False,
) -> str:
    """The scenario XML; ``talk_wav`` (A-law) is what an answered call sends (None: it
    sends nothing, for a carrier started with ``-rtp_echo``); ``refuse``: Request-URI
    pattern -> status line ("486 Busy Here") for the INVITEs it matches;
    ``answer_after_ms``: how long the called phone rings (after the 180) before the 200;
    ``hang_up_on_info`` (``answer`` only): an INFO in the dialog makes it hang up."""
    if hang_up_on_info and mode != "answer":
        raise ValueError("hang_up_on_info needs the answer mode")
    stream = f'<nop><action><exec rtp_stream="{talk_wav},-1,8"/></action></nop>'
    pause = f'\n  <pause milliseconds="{answer_after_ms}"/>' if answer_after_ms > 0 else ""
    trigger = '\n  <recv request="INFO" optional="true" next="hangup"/>' if hang_up_on_info else ""
    answer = _ANSWER.format(
        headers=_REPLY_HEADERS, stream=stream if talk_wav else "", pause=pause, trigger=trigger
    )
    if hang_up_on_info:
        answer += _HANG_UP
    matches, branches, refusals = [], [], []
    for index, (pattern, status) in enumerate((refuse or {}).items()):
        matches.append(
            f'<ereg regexp="INVITE sip:{pattern}" search_in="msg" check_it="false" '
            f'assign_to="refuse{index}"/>'
        )
        branches.append(f'<nop hide="true" test="refuse{index}" next="refuse{index}"/>')
        refusals.append(
            f'<label id="refuse{index}"/>{_reply(status)}\n  <recv request="ACK" next="done"/>'
        )
    if hang_up_on_info:
        matches.append(_CAPTURE_DIALOG)
    rrs = ' rrs="true"' if hang_up_on_info else ""
    receive = (
        f'<recv request="INVITE"{rrs}><action>{"".join(matches)}</action></recv>'
        if matches
        else '<recv request="INVITE"/>'
    )
    if mode == "reject":
        invite = _reply("503 Service Unavailable") + '\n  <recv request="ACK" next="done"/>'
    elif mode == "answer":
        invite = answer
    else:
        challenge = (
            'WWW-Authenticate: Digest realm="carrier.test", nonce="[pid]n[call_number]", '
            'algorithm=MD5, qop="auth"\n      '
        )
        invite = f"""{_reply("401 Unauthorized", challenge)}
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="authvalid" username="{username}" password="{password}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="goodauth"/>
  {_reply("403 Forbidden")}
  <recv request="ACK" next="done"/>
  <label id="goodauth"/>{answer}"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier {mode}">
  <recv request="OPTIONS" optional="true" next="options"/>
  {receive}
  {"".join(branches)}
  {invite}
  {"".join(refusals)}
  <label id="options"/>
  {_reply("200 OK")}
  <label id="done"/>
</scenario>
"""


def invite_call_ids(messages: Path, number_pattern: str = "[^@]*") -> list[str]:
    """The Call-IDs of the INVITEs a carrier received (its ``-trace_msg`` log), oldest
    first, for the Request-URIs whose user matches ``number_pattern``."""
    if not messages.exists():
        return []
    found: list[str] = []
    for match in re.finditer(
        rf"^INVITE sip:{number_pattern}@.*?^Call-ID:\s*(\S+)",
        messages.read_text(errors="replace"),
        re.MULTILINE | re.DOTALL | re.IGNORECASE,
    ):
        if match.group(1) not in found:
            found.append(match.group(1))
    return found


def hang_up(carrier_port: int, call_id: str) -> None:
    """Make a ``hang_up_on_info`` carrier hang up its call ``call_id``: one INFO over UDP
    on loopback, from a socket of our own (SIPp's BYE goes to the node)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        request = (
            f"INFO sip:carrier@127.0.0.1:{carrier_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-hangup-{port}\r\n"
            f"From: <sip:test@127.0.0.1:{port}>;tag=hangup{port}\r\n"
            f"To: <sip:carrier@127.0.0.1:{carrier_port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INFO\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), ("127.0.0.1", carrier_port))

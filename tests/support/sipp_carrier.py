"""SIPp scenarios for a carrier's side of a trunk: answers OPTIONS probes and takes INVITEs.

Every new Call-ID starts the scenario from the top, so one scenario serves both the node's
health probes (OPTIONS, answered 200) and the outbound calls (INVITE), whichever comes: the
OPTIONS ``recv`` is optional and jumps to its own branch. An INVITE is then refused with
503 (``reject``), answered with a looped A-law tone until the node's BYE (``answer``), or
first challenged with a 401 digest and answered only if SIPp's ``verifyauth`` accepts the
credentials, else refused with 403 (``challenge``). ``refuse`` picks INVITEs by their
Request-URI (a regular expression) and answers them with a status of their own, so one
carrier can be busy for one number and answer another.
"""

from __future__ import annotations

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
  </send>
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
  {stream}
  <recv request="BYE"/>
  <send next="done">
    <![CDATA[
      SIP/2.0 200 OK
      {headers}
      Content-Length: 0

    ]]>
  </send>"""


def carrier_scenario(
    mode: Literal["reject", "answer", "challenge"],
    *,
    talk_wav: Path | None = None,
    username: str = "",
    password: str = "",
    refuse: Mapping[str, str] | None = None,
) -> str:
    """The scenario XML; ``talk_wav`` (A-law) is what an answered call sends (None: it
    sends nothing, for a carrier started with ``-rtp_echo``); ``refuse``: Request-URI
    pattern -> status line ("486 Busy Here") for the INVITEs it matches."""
    stream = f'<nop><action><exec rtp_stream="{talk_wav},-1,8"/></action></nop>'
    answer = _ANSWER.format(headers=_REPLY_HEADERS, stream=stream if talk_wav else "")
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
    receive = (
        f'<recv request="INVITE"><action>{"".join(matches)}</action></recv>'
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

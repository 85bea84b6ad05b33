"""A SIPp scenario for a customer who calls the hotline, keys digits and talks.

SIPp scenarios cannot loop over a string of digits, so the XML is written per test: the
INVITE offers PCMA and telephone-event, each key is one of SIPp's shipped RFC 2833 captures
played at its own moment, and after the keys the caller "talks" (an A-law tone streamed in a
loop) until it hangs up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

SIPP_SHARE = Path("/usr/share/sip-tester")
_KEY_FILES = {"*": "star", "#": "pound"}

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline customer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:{number}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{number}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=customer 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""

_TAIL = """  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      [routes]
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def customer_scenario(
    keys: Sequence[tuple[float, str]],
    *,
    talk_wav: Path,
    talk_seconds: float,
    number: str = "4000",
    caller: str = "13800138000",
) -> str:
    """``keys``: (pause before it in seconds, key). ``talk_wav``: 8 kHz A-law mono WAV,
    looped from after the last key until the caller hangs up ``talk_seconds`` later."""
    steps = []
    for pause, key in keys:
        name = _KEY_FILES.get(key, key)
        steps.append(f'  <pause milliseconds="{round(pause * 1000)}"/>')
        steps.append(
            f'  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/dtmf_2833_{name}.pcap"/>'
            "</action></nop>"
        )
    steps.append('  <pause milliseconds="400"/>')
    steps.append(f'  <nop><action><exec rtp_stream="{talk_wav},-1,8"/></action></nop>')
    steps.append(f'  <pause milliseconds="{round(talk_seconds * 1000)}"/>')
    steps.append('  <nop><action><exec rtp_stream="pause"/></action></nop>')
    body = "\n".join(steps) + "\n"
    return (
        _HEAD.format(number=number, caller=caller)
        + body
        + _TAIL.format(number=number, caller=caller)
    )


# ---- scripted callers for live IVR tests (speech, voicemail, survey) --------------------------

_AWAIT_BYE = """  <recv request="BYE" timeout="30000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def pause(seconds: float) -> str:
    return f'  <pause milliseconds="{round(seconds * 1000)}"/>'


def stream(wav: Path, loops: int = 1) -> str:
    """Send an 8 kHz A-law WAV as RTP (payload type 8), ``loops`` times (-1: forever)."""
    return f'  <nop><action><exec rtp_stream="{wav},{loops},8"/></action></nop>'


def key(digit: str) -> str:
    """One RFC 2833 key press from SIPp's shipped captures."""
    name = _KEY_FILES.get(digit, digit)
    return (
        f'  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/dtmf_2833_{name}.pcap"/>'
        "</action></nop>"
    )


def scripted_caller(
    steps: Sequence[str],
    *,
    number: str,
    caller: str = "13800138000",
    node_hangs_up: bool,
) -> str:
    """A caller who does ``steps`` after the call is answered, then hangs up, or (with
    ``node_hangs_up``) waits for the node's BYE and answers it."""
    head = _HEAD.format(number=number, caller=caller)
    body = "\n".join(steps) + "\n"
    tail = _AWAIT_BYE if node_hangs_up else _TAIL
    return head + body + tail.format(number=number, caller=caller)

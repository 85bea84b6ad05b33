"""A SIPp customer that echoes every RTP packet it receives (``-rtp_echo``), so that what the
caller heard comes back to the node and lands in the call's recording (customer on the left
channel). The node's recording is aligned on the call clock, so this shows what the caller
heard, when, even on a loaded machine where a softphone's own dump would lose time.

The caller waits for the node's BYE (the test ends the call through the API).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.interop.conftest import require_peer
from tests.interop.test_media_sipp import free_port

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="echoing customer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:{number}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{number}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=customer 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv request="BYE" timeout="90000"/>
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


def echoing_caller(directory: Path, sip_port: int, number: str) -> subprocess.Popen[str]:
    return sipp_caller(directory, sip_port, SCENARIO.replace("{number}", number), echo=True)


def sipp_caller(
    directory: Path, sip_port: int, scenario: str, *, echo: bool
) -> subprocess.Popen[str]:
    """One SIPp call of ``scenario`` (XML) to the node, on free ports; ``echo``: it sends
    back every RTP packet it receives."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "caller.xml"
    path.write_text(scenario)
    return subprocess.Popen(
        [
            require_peer("sipp"),
            *["-sf", str(path), f"127.0.0.1:{sip_port}"],
            *["-i", "127.0.0.1", "-p", str(free_port()), "-mi", "127.0.0.1"],
            *["-mp", str(free_port(2)), *(["-rtp_echo"] if echo else [])],
            *["-m", "1", "-nostdin", "-timeout", "100s", "-timeout_error"],
        ],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )

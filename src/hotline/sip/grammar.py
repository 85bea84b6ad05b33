"""Regular expressions built from the ABNF of RFC 3261 §25.1 (and RFC 3966 for tel).

Each pattern names the rule it implements so that a reader can check it against the RFC.
They are compiled once at import; they hold no state.
"""

from __future__ import annotations

import re

# alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"   (§25.1 token)
TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
TOKEN = rf"[{TOKEN_CHARS}]+"
TOKEN_RE = re.compile(TOKEN)

# Method = INVITEm / ... / extension-method ; extension-method = token
METHOD_RE = re.compile(TOKEN)

# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT  (the literal is case-insensitive in ABNF)
SIP_VERSION_RE = re.compile(r"[Ss][Ii][Pp]/(\d+)\.(\d+)")

# Status-Code = extension-code = 3DIGIT
STATUS_CODE_RE = re.compile(r"[1-6]\d\d")

# quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
# qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
# quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
QUOTED_STRING = r'"(?:[^"\\\r\n]|\\[\x00-\x09\x0b\x0c\x0e-\x7f])*"'
QUOTED_STRING_RE = re.compile(QUOTED_STRING)

# host = hostname / IPv4address / IPv6reference ; hostname = *( domainlabel "." ) toplabel ["."]
# Checked loosely for speed (alphanum, "-" and "."); the nested form of the ABNF costs a
# backtracking pass per URI and buys nothing a resolver would not catch.
HOSTNAME = r"[A-Za-z0-9][A-Za-z0-9\-.]*"
IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
IPV6_REFERENCE = r"\[[0-9A-Fa-f:.]+\]"
HOST = rf"(?:{IPV6_REFERENCE}|{IPV4}|{HOSTNAME})"
HOST_RE = re.compile(HOST)

# gen-value = token / host / quoted-string
GEN_VALUE = rf"(?:{QUOTED_STRING}|{IPV6_REFERENCE}|[{TOKEN_CHARS}]+)"

# generic-param = token [ EQUAL gen-value ], SEMI = SWS ";" SWS, EQUAL = SWS "=" SWS
PARAM_RE = re.compile(rf"\s*;\s*({TOKEN})(?:\s*=\s*({GEN_VALUE}))?")

# unreserved = alphanum / mark ; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
ESCAPED = r"%[0-9A-Fa-f]{2}"
# user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = & = + $ , ; ? /
USER_RE = re.compile(rf"(?:[{UNRESERVED}&=+$,;?/]|{ESCAPED})+")
# password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
PASSWORD_RE = re.compile(rf"(?:[{UNRESERVED}&=+$,]|{ESCAPED})*")
# paramchar = param-unreserved / unreserved / escaped ; param-unreserved = [ ] / : & + $
PARAMCHARS = rf"(?:[{UNRESERVED}\[\]/:&+$]|{ESCAPED})+"
URI_PARAM_RE = re.compile(rf";({PARAMCHARS})(?:=({PARAMCHARS}))?")
# hname / hvalue = 1*( hnv-unreserved / unreserved / escaped ); hnv-unreserved = [ ] / ? : + $
HNVCHARS = rf"(?:[{UNRESERVED}\[\]/?:+$]|{ESCAPED})"
URI_HEADER_RE = re.compile(rf"({HNVCHARS}+)=({HNVCHARS}*)")
# hostport = host [ ":" port ]
HOSTPORT_RE = re.compile(rf"({HOST})(?::(\d{{1,5}}))?")

# absoluteURI (RFC 2396 via §25.1): scheme ":" ( hier_part / opaque_part ), no LWS, no < > "
SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
ABSOLUTE_URI_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):([^\s<>\"]+)")

# telephone-subscriber (RFC 3966 §3, simplified): global or local number, then ;params
TEL_NUMBER_RE = re.compile(r"\+?[0-9A-Fa-f*#\-.()pPwW]+")

# Call-ID = word [ "@" word ]; word = 1*(token chars / ( ) < > : \ DQUOTE / [ ] ? { })
WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
CALL_ID_RE = re.compile(rf"{WORD}(?:@{WORD})?")

# rfc1123-date = wkday "," SP date1 SP time SP "GMT"  (§25.1 SIP-date)
SIP_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT"
)

# Via: sent-protocol LWS sent-by; sent-protocol = protocol-name SLASH protocol-version
# SLASH transport ; SLASH = SWS "/" SWS ; sent-by = host [ COLON port ]
VIA_RE = re.compile(rf"({TOKEN})\s*/\s*({TOKEN})\s*/\s*({TOKEN})\s+({HOST})(?:\s*:\s*(\d{{1,5}}))?")

# CSeq = 1*DIGIT LWS Method
CSEQ_RE = re.compile(rf"(\d+)\s+({TOKEN})")

DIGITS_RE = re.compile(r"\d+")

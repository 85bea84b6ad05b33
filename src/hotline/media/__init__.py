"""Media as pure code: RTP/RTCP packets and statistics, codecs, DTMF (RFC 4733 and
in-band), jitter buffer, players, recorders, bridges and mixers, and the media engine
interface with its backends (built-in workers; rtpengine when a site outgrows them).

No sockets and no asyncio: the UDP adapters live in ``hotline.transport`` so that the
per-packet work can be measured and tested on its own.
"""

"""Thin asyncio adapters (UDP, TCP, TLS, WebSocket) that feed bytes and ``now`` into the
sans-IO cores of ``hotline.sip`` and ``hotline.media`` and send what they return, with
one timer per adapter. The only layer below ``calls`` that touches sockets.
"""

"""Carries out an IVR ``HttpRequest`` against a customer's system.

Whatever goes wrong (refused connection, timeout, TLS failure, an answer too large) comes
back as ``HttpFailed`` with a reason, never as an exception: the flow then takes its
fallback branch and the caller is not left in silence. Redirects are not followed (a look-up
URL is configuration; a redirect is a misconfiguration to see, not to chase).
"""

from __future__ import annotations

import asyncio

import httpx

from hotline.ivr.io import HttpFailed, HttpRequest, HttpResponse

#: Look-up answers are small JSON documents; a larger one is a wrong URL, not data.
MAX_ANSWER_BYTES = 256 * 1024


async def perform_lookup(
    client: httpx.AsyncClient, request: HttpRequest
) -> HttpResponse | HttpFailed:
    try:
        async with asyncio.timeout(request.timeout_s):
            async with client.stream(
                request.method,
                request.url,
                json=dict(request.json_body) if request.json_body is not None else None,
                follow_redirects=False,
                timeout=request.timeout_s,
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        return HttpFailed(
                            request.request_id, f"answer larger than {MAX_ANSWER_BYTES} bytes"
                        )
                return HttpResponse(request.request_id, response.status_code, bytes(body))
    except TimeoutError:
        return HttpFailed(request.request_id, f"no answer within {request.timeout_s:g} s")
    except httpx.TimeoutException:
        return HttpFailed(request.request_id, f"no answer within {request.timeout_s:g} s")
    except httpx.HTTPError as error:
        return HttpFailed(request.request_id, f"{type(error).__name__}: {error}")

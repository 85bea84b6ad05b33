"""What the words and voices of one call say: the ``analytics`` of an analysis.

The glue of the per-call text analytics, run after transcription and metrics
(``hotline.qa.analysis``): personal data is found first, so that sentiment and the rule
categories run on the clear text while what is stored is the redacted transcript; the
clear segments are kept under ``clear_segments`` only when ``keep_clear_text`` says so
(``qa.keep_clear_text``; the API strips them for roles without ``recordings:unredacted``).
Agitation is measured on each speaker's own channel.

The shape (docs/qa-analytics.md)::

    {"sentiment": {speaker: {...}, "curve": [...]}, "categories": [...], "pii": [...],
     "agitation": {speaker: {...}}, "redacted": true, "clear_segments": [...]}

Pure code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.qa.prosody import agitation
from hotline.qa.redaction import redact_segments
from hotline.qa.rules import RuleSet
from hotline.qa.rules_file import default_rules
from hotline.qa.sentiment import SentimentModel, call_sentiment


def call_analytics(
    segments: Sequence[Mapping[str, Any]],
    language: str | None,
    channels: Mapping[str, npt.NDArray[np.float32]],
    *,
    duration: float | None = None,
    rules: RuleSet | None = None,
    sentiment: SentimentModel | None = None,
    keep_clear_text: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The redacted segments to store and the call's ``analytics``.

    ``segments`` as ``Analysis.segments()`` gives them (time order; a hit's or a span's
    ``segment`` is an index in that list); ``channels`` each speaker's 16 kHz signal."""
    redacted, pii = redact_segments(segments)
    rules = rules or default_rules()
    voices: dict[str, Any] = {}
    for speaker, samples in channels.items():
        found = agitation(samples)
        if found is not None:
            voices[speaker] = found
    analytics: dict[str, Any] = {
        "sentiment": call_sentiment(segments, language, sentiment),
        "categories": rules.evaluate(segments, language, duration),
        "pii": pii,
        "agitation": voices,
        "redacted": True,
    }
    if keep_clear_text:
        analytics["clear_segments"] = [dict(segment) for segment in segments]
    return redacted, analytics

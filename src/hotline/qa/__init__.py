"""Recording analysis and quality assurance: pluggable ASR engines, transcripts,
keyword search, sentiment, speech rate, silence and over-talk, rule-based scoring and
QA reports. Consumes events and stored recordings; never touches live calls.
"""

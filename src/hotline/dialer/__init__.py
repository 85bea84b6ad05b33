"""Outbound campaigns: contact lists, do-not-call lists, calling windows and pacing
(preview, progressive, predictive under an abandon-rate cap).
"""

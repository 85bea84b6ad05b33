"""Do-not-call look-ups on E.164 numbers."""

from __future__ import annotations

import pytest

from hotline.dialer.do_not_call import DoNotCall


def test_blocks_numbers_of_either_list_and_says_which() -> None:
    dnc = DoNotCall(["+8613800138000", "+14155552671"], iter(["+8613900139000", "+14155552671"]))
    assert dnc.blocks("+8613800138000")
    assert dnc.blocks("+8613900139000")
    assert not dnc.blocks("+8613700137000")
    assert dnc.reason("+8613800138000") == "global"
    assert dnc.reason("+8613900139000") == "campaign"
    # On both lists, the global one is the reason (it outlives the campaign).
    assert dnc.reason("+14155552671") == "global"
    assert dnc.reason("+8613700137000") is None


def test_empty_lists_block_nothing() -> None:
    dnc = DoNotCall([], [])
    assert not dnc.blocks("+8613800138000")
    assert "0 global, 0 campaign" in repr(dnc)


@pytest.mark.parametrize("entry", ["13800138000", "+86 138 0013 8000", "+0123", ""])
def test_refuses_entries_that_are_not_e164_since_they_would_never_match(entry: str) -> None:
    with pytest.raises(ValueError, match=r"not E\.164"):
        DoNotCall([entry], [])
    with pytest.raises(ValueError, match="campaign do-not-call entry"):
        DoNotCall([], [entry])

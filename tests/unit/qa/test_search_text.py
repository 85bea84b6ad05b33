"""The words the QA search indexes and looks for: jieba search mode for segments, precise
words for queries with the pieces of long words as an alternative, placeholders skipped,
query expressions quoted for FTS5 and tsquery, snippets escaped with the matches marked."""

from __future__ import annotations

import pytest

from hotline.qa.search_text import (
    QueryError,
    QueryWord,
    fts5_match,
    index_tokens,
    query_words,
    snippet,
    tsquery,
)


def test_segments_are_indexed_in_search_mode_without_placeholders() -> None:
    tokens = index_tokens("我要申请退款，手机号是[mobile]。Refund, PLEASE! [email]")
    assert tokens[:4] == ["我要", "申请", "退款", "手机"]
    assert "mobile" not in tokens
    assert "email" not in tokens
    assert tokens[-2:] == ["refund", "please"]
    long_word = index_tokens("中华人民共和国")
    assert {"中华", "人民", "共和国", "中华人民共和国"} <= set(long_word)


def test_query_words_are_precise_with_pieces_for_long_words() -> None:
    assert query_words("申请退款 Refund") == [
        QueryWord("申请"),
        QueryWord("退款"),
        QueryWord("refund"),
    ]
    (word,) = query_words("中华人民共和国")
    assert word.word == "中华人民共和国"
    assert set(word.pieces) >= {"中华", "人民", "共和国"}
    assert query_words("refund refund") == [QueryWord("refund")]


@pytest.mark.parametrize("query", ["", "，。！", "[mobile]", "   "])
def test_queries_without_words_are_refused(query: str) -> None:
    with pytest.raises(QueryError, match="no words"):
        query_words(query)


def test_long_queries_are_refused() -> None:
    with pytest.raises(QueryError, match="longer than 200"):
        query_words("a" * 201)
    with pytest.raises(QueryError, match="more than 16 words"):
        query_words(" ".join(f"w{n}" for n in range(17)))


def test_expressions_quote_every_token() -> None:
    words = [QueryWord("退款"), QueryWord("中华人民", ("中华", "人民"))]
    assert fts5_match(words) == '"退款" AND ("中华人民" OR ("中华" AND "人民"))'
    assert tsquery(words) == "'退款' & ('中华人民' | ('中华' & '人民'))"


def test_snippets_mark_matches_and_escape_the_rest() -> None:
    words = query_words("退款 refund")
    text = "<b>您好</b>，我想申请退款。Refund it, not refunds."
    assert snippet(text, words) == (
        "&lt;b&gt;您好&lt;/b&gt;，我想申请<mark>退款</mark>。<mark>Refund</mark> it, not refunds."
    )
    long = "前面" * 100 + "退款" + "后面" * 100
    cut = snippet(long, words, width=40)
    assert cut.startswith("…")
    assert cut.endswith("…")
    assert "<mark>退款</mark>" in cut

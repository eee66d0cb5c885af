import pytest

from archive.search.query import And, Not, Or, Phrase, QueryError, Term, check_runnable, parse
from archive.search.sqlite import compile_fts


def test_default_and_phrases_prefix_and_filters():
    q = parse('"common purpose" payments pay* lang:en collection:"PSNI release"')
    assert q.tree == And((Phrase(("common", "purpose")), Term("payments"), Term("pay", prefix=True)))
    assert q.filters == {"lang": ["en"], "collection": ["PSNI release"]}


def test_boolean_operators():
    q = parse("(hainan OR 海洋) NOT base")
    haiyang = Or((Term("海洋"), Phrase(("海", "洋"), chars=True)))
    assert q.tree == And((Or((Term("hainan"), haiyang)), Not(Term("base"))))
    # AND binds tighter than OR; a double negation cancels.
    assert parse("a OR b NOT -c").tree == Or((Term("a"), And((Term("b"), Term("c")))))


def test_engine_syntax_is_escaped():
    # FTS5 operators and quotes in user text are quoted as terms, never run as syntax.
    expr = compile_fts(parse('NEAR(a b) body:x "terminated"').tree)
    assert "NEAR(" not in expr
    assert expr.count('"') % 2 == 0


def test_only_negative_is_rejected():
    with pytest.raises(QueryError):
        check_runnable(parse("NOT secret").tree)


def test_positive_terms_skip_negated():
    assert parse("base -army").positive_terms() == [Term("base")]

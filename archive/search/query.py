"""The user query language, parsed once into a tree that each backend compiles.

    word            a term (analysed like the text: case-folded, Chinese segmented)
    "two words"     a phrase
    pref*           a prefix
    a AND b, a b    both (AND is the default)
    a OR b          either
    NOT a, -a       exclude
    ( ... )         grouping
    field:value     a filter (lang, collection, kind, from, to, sender, recipient, entity, year)

Chinese text in a query is found as a word (ranked first) or anywhere its characters stand in a
row (the index's character stream, see `archive.analysis`), and Traditional and Simplified
characters fold to one form on both sides.

Engine syntax (FTS5 or Lucene) is taken as words, so a user can never inject it unless they ask
for raw mode. A query that cannot mean anything raises `QueryError` saying why, never matches
"everything": a lone or trailing operator, an unclosed or stray parenthesis, an unclosed quote,
an empty phrase, a query with no word in it, an invalid date or year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from ..analysis import han_chars, index_words, normalize, query_terms
from ..hanfold import fold_han
from ..script import HAN

# Deeper nesting of parentheses is refused (the parser and both engines recurse on it).
MAX_DEPTH = 20


class QueryError(ValueError):
    """A query that cannot be run (e.g. only negative terms); the message is for the user."""


@dataclass(frozen=True)
class Term:
    term: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Terms in a row. `chars`: the terms are the single Han characters of a query's Chinese
    text, matched in the index's character stream (so anywhere they stand in a row)."""

    terms: tuple[str, ...]
    chars: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | Phrase | And | Or | Not

FILTER_FIELDS = {
    "lang",
    "collection",
    "kind",
    "from",
    "to",
    "sender",
    "recipient",
    "entity",
    "year",
    "exemption",
    "redacted",  # yes | no: the document has redaction boxes (archive/redactions)
    "bad_redaction",  # yes | no: ... with text left under one; also spelled bad-redaction
}
YES_NO_FILTERS = ("redacted", "bad_redaction")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\()|(?P<rp>\))|
        (?P<field>[A-Za-z_][A-Za-z_-]*):(?:"(?P<fq>[^"]*)(?P<fqclose>")?|(?P<fv>[^\s()]+))|
        "(?P<phrase>[^"]*)(?P<close>")?|
        (?P<word>[^\s()"]+)
    )""",
    re.X,
)


@dataclass
class ParsedQuery:
    tree: Node | None
    filters: dict[str, list[str]] = field(default_factory=dict)

    def positive_terms(self) -> list[Term | Phrase]:
        """Terms and phrases that are not negated, for snippets and highlighting."""
        out: list[Term | Phrase] = []

        def walk(n: Node | None, neg: bool) -> None:
            if n is None:
                return
            if isinstance(n, Term | Phrase):
                if not neg:
                    out.append(n)
            elif isinstance(n, Not):
                walk(n.item, not neg)
            else:
                for i in n.items:
                    walk(i, neg)

        walk(self.tree, False)
        return out


def _text_node(text: str, prefix: bool = False) -> Node | None:
    """The node for a word or a quoted phrase of a query (None when it holds no word).

    Chinese text is found as the words jieba makes of it, or as its characters in a row: both,
    so a whole-word match ranks first and any substring is still found."""
    terms = query_terms(text)
    if not terms:
        return None
    word: Node = Term(terms[0], prefix) if len(terms) == 1 else _phrase(text)
    if not all(HAN.match(t) for t in terms):
        return word
    chars = [c for c in han_chars(fold_han(normalize(text))) if HAN.match(c)]
    if len(chars) == 1:
        return word  # one character: the same term in both streams
    return Or((word, Phrase(tuple(chars), chars=True)))


def _phrase(text: str) -> Phrase:
    """A phrase as the index spells it: Chinese words are indexed followed by their sub-words
    (jieba search mode, 有限公司 -> 有限 公司 有限公司), so a phrase of precise-mode words
    would never be adjacent there."""
    return Phrase(tuple(index_words(text)))


_DATE_FORMATS = ((4, "%Y"), (7, "%Y-%m"), (10, "%Y-%m-%d"))


def check_date(value: str, name: str) -> str:
    """`value` when it is a date (YYYY, YYYY-MM, YYYY-MM-DD, or an ISO date and time), else
    QueryError naming the filter."""
    value = value.strip()
    for length, fmt in _DATE_FORMATS:
        if len(value) == length:
            try:
                datetime.strptime(value, fmt)
                return value
            except ValueError:
                break
    else:
        if len(value) > 10:
            try:
                datetime.fromisoformat(value)
                return value
            except ValueError:
                pass
    raise QueryError(
        f"{name}:{value} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD (e.g. {date.today():%Y-%m-%d})"
    )


def _check_filter(name: str, value: str) -> None:
    if not value.strip():
        return  # an empty filter value is ignored by every backend
    if name in {"from", "to"}:
        check_date(value, name)
    elif name == "year" and not re.fullmatch(r"\d{4}", value.strip()):
        raise QueryError(f"year:{value} is not a year: write four digits (year:2019)")
    elif name in YES_NO_FILTERS and value.strip().lower() not in {"yes", "no"}:
        raise QueryError(f"{name.replace('_', '-')}:{value}: write yes or no")


def parse(query: str) -> ParsedQuery:
    """The query's tree and filters; QueryError (with a message for the user) when it is malformed."""
    tokens: list[tuple[str, str]] = []
    filters: dict[str, list[str]] = {}
    for m in _TOKEN.finditer(query):
        if m.group("lp"):
            tokens.append(("(", "("))
        elif m.group("rp"):
            tokens.append((")", ")"))
        elif m.group("field"):
            name = m.group("field").lower().replace("-", "_")
            if m.group("fq") is not None and m.group("fqclose") is None:
                raise QueryError(f'a quote is not closed: add " after {name}:"{m.group("fq")}')
            value = m.group("fq") if m.group("fq") is not None else m.group("fv")
            if name in FILTER_FIELDS:
                _check_filter(name, value)
                filters.setdefault(name, []).append(value)
            else:
                tokens.append(("word", f"{m.group('field')} {value}"))
        elif m.group("phrase") is not None:
            if m.group("close") is None:
                raise QueryError('a quote is not closed: add the closing "')
            if not m.group("phrase").strip():
                raise QueryError('an empty phrase (""): put words between the quotes')
            tokens.append(("phrase", m.group("phrase")))
        elif m.group("word"):
            word = m.group("word")
            if word in {"AND", "OR", "NOT"}:
                tokens.append((word, word))
            elif word.startswith("-") and len(word) > 1:
                tokens.append(("NOT", "NOT"))
                tokens.append(("word", word[1:]))
            else:
                tokens.append(("word", word))
    if not tokens:
        return ParsedQuery(None, filters)
    parser = _Parser(tokens)
    tree = parser.parse_or()
    if parser.peek() == ")":
        raise QueryError("a closing parenthesis has no opening one")
    if tree is None:
        raise QueryError(f"nothing to search for in {query.strip()!r}: the query has no words")
    return ParsedQuery(tree, filters)


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary (AND? unary)*; unary := NOT unary | atom.

    Words without terms (punctuation, a lone `*`) drop out; an operator or a pair of parentheses
    left with nothing to apply to is a QueryError."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse_or(self) -> Node | None:
        items = [self.parse_and()]
        while self.peek() == "OR":
            self.take()
            if items[-1] is None or self.peek() in (None, "OR", ")"):
                raise QueryError("OR needs a search term on each side")
            items.append(self.parse_and())
        kept = [i for i in items if i is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def parse_and(self) -> Node | None:
        items: list[Node | None] = []
        while self.peek() not in (None, "OR", ")"):
            if self.peek() == "AND":
                self.take()
                if not items or self.peek() in (None, "OR", ")", "AND"):
                    raise QueryError("AND needs a search term on each side")
                continue
            items.append(self.parse_unary())
        kept = [i for i in items if i is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def parse_unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            negate = False
            while self.peek() == "NOT":  # a loop, not recursion: NOT NOT ... x can be long
                self.take()
                negate = not negate
            if self.peek() in (None, "OR", "AND", ")"):
                raise QueryError("NOT needs a search term after it")
            inner = self.parse_unary()
            if inner is None:
                raise QueryError("NOT needs a search term after it")
            if isinstance(inner, Not):
                inner, negate = inner.item, not negate  # NOT -x is x
            return Not(inner) if negate else inner
        if kind == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"parentheses nested too deeply (at most {MAX_DEPTH} levels)")
            inner = self.parse_or()
            if self.peek() != ")":
                raise QueryError("a parenthesis is not closed: add )")
            self.take()
            self.depth -= 1
            if inner is None:
                raise QueryError("empty parentheses: put search terms between them")
            return inner
        kind, value = self.take()
        if kind == "phrase":
            node = _text_node(value)
            if node is None:
                raise QueryError(f'the phrase "{value}" has no words to search for')
            return node
        prefix = value.endswith("*") and len(value.rstrip("*")) > 0
        return _text_node(value.rstrip("*"), prefix)


def check_runnable(tree: Node | None) -> None:
    """Reject trees that would match 'everything except': a backend cannot rank those."""
    if tree is None:
        return
    if isinstance(tree, Not):
        raise QueryError("a query needs at least one term that is not negated")
    if isinstance(tree, And) and all(isinstance(i, Not) for i in tree.items):
        raise QueryError("a query needs at least one term that is not negated")
    if isinstance(tree, Or):
        for item in tree.items:
            check_runnable(item)

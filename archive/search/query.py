"""The user query language, parsed once into a tree that each backend compiles.

    word            a term (analysed like the text: case-folded, Chinese segmented)
    "two words"     a phrase
    pref*           a prefix
    a AND b, a b    both (AND is the default)
    a OR b          either
    NOT a, -a       exclude
    ( ... )         grouping
    field:value     a filter (lang, collection, kind, from, to, sender, recipient, entity, year)

Anything else (stray quotes, unknown operators, FTS5 or Lucene syntax) is taken as words, so
a user can never inject engine syntax unless they ask for raw mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..analysis import index_text, query_terms


class QueryError(ValueError):
    """A query that cannot be run (e.g. only negative terms); the message is for the user."""


@dataclass(frozen=True)
class Term:
    term: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    terms: tuple[str, ...]


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

FILTER_FIELDS = {"lang", "collection", "kind", "from", "to", "sender", "recipient", "entity", "year", "exemption"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\()|(?P<rp>\))|
        (?P<field>[A-Za-z_]+):(?:"(?P<fq>[^"]*)"|(?P<fv>[^\s()]+))|
        "(?P<phrase>[^"]*)"?|
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


def _leaf(text: str, prefix: bool = False) -> Node | None:
    terms = query_terms(text)
    if not terms:
        return None
    if len(terms) == 1:
        return Term(terms[0], prefix)
    if prefix:
        return _phrase(text)  # a prefix on a multi-term word: keep it a phrase
    return _phrase(text)


def _phrase(text: str) -> Phrase:
    """A phrase as the index spells it: Chinese words are indexed followed by their sub-words
    (jieba search mode, 有限公司 -> 有限 公司 有限公司), so a phrase of precise-mode words
    would never be adjacent there."""
    return Phrase(tuple(index_text(text).split()))


def parse(query: str) -> ParsedQuery:
    tokens: list[tuple[str, str]] = []
    filters: dict[str, list[str]] = {}
    for m in _TOKEN.finditer(query):
        if m.group("lp"):
            tokens.append(("(", "("))
        elif m.group("rp"):
            tokens.append((")", ")"))
        elif m.group("field"):
            name = m.group("field").lower()
            value = m.group("fq") if m.group("fq") is not None else m.group("fv")
            if name in FILTER_FIELDS:
                filters.setdefault(name, []).append(value)
            else:
                tokens.append(("word", f"{m.group('field')} {value}"))
        elif m.group("phrase") is not None:
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
    parser = _Parser(tokens)
    tree = parser.parse_or()
    return ParsedQuery(tree, filters)


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary (AND? unary)*; unary := NOT unary | atom."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0

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
                continue
            items.append(self.parse_unary())
        kept = [i for i in items if i is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def parse_unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.take()
            inner = self.parse_unary()
            if isinstance(inner, Not):
                return inner.item  # NOT -x is x
            return Not(inner) if inner is not None else None
        if kind == "(":
            self.take()
            inner = self.parse_or()
            if self.peek() == ")":
                self.take()
            return inner
        if kind == ")":
            self.take()
            return None
        kind, value = self.take()
        if kind == "phrase":
            terms = query_terms(value)
            if not terms:
                return None
            return _phrase(value) if len(terms) > 1 else Term(terms[0])
        prefix = value.endswith("*") and len(value.rstrip("*")) > 0
        return _leaf(value.rstrip("*"), prefix)


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

"""Which pages of a batch a query can possibly match, from the terms the pages were indexed with.

Saved searches run after every indexing batch, and most of them cannot match any page of it (a
name, a reference: their words are not there). The pages were just analysed (`IndexRecord` text
fields hold the whitespace-joined terms an engine with a whitespace analyzer indexes), so a
query's necessary condition can be checked here before the engine is asked:

    a term              a page holding it
    a prefix            a page holding a term that starts with it
    a phrase            a page holding all its terms (their order is for the engine)
    a AND b             the pages of any side (their intersection; a NOT side is no condition)
    a OR b              the pages of either side
    NOT a, filters      no condition: any page

The answer is a superset of the pages the engine matches, never fewer: the engine still decides.
It holds only for an engine whose terms are exactly the whitespace-separated analysed terms
(Elasticsearch's `whitespace` analyzer); FTS5's unicode61 tokenizer splits terms again itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from .base import IndexRecord
from .query import And, Node, Not, Or, Phrase, Term

# Lucene's whitespace tokenizer cuts a token at 255 UTF-16 units: a page with a longer term (one
# of 255 characters outside the BMP) holds pieces the split here does not see, so it is a
# candidate for every query.
_MAX_UNITS = 255


class PageTerms:
    """The terms of a batch's pages, for `candidates`."""

    def __init__(self, records: Iterable[IndexRecord], trees: Iterable[Node | None] = ()):
        """`trees`: the queries that will be asked (only their terms are kept per page)."""
        self.pages: list[tuple[int, frozenset[str]]] = []
        self.always: set[int] = set()  # pages that are candidates for every query
        for r in records:
            terms = frozenset(f"{r.body} {r.translation} {r.gloss}".split())
            self.pages.append((r.page_id, terms))
            if terms and max(map(len, terms)) > _MAX_UNITS // 2 and _too_long(terms):
                self.always.add(r.page_id)
        self.all_pages = frozenset(p for p, _ in self.pages)
        exact: set[str] = set()
        prefixes: set[str] = set()
        for tree in trees:
            _collect(tree, exact, prefixes)
        self._expanded: dict[str, list[str]] = {}
        if prefixes:
            vocab = sorted(frozenset().union(*(terms for _, terms in self.pages)))
            for p in prefixes:
                k = bisect.bisect_left(vocab, p)
                found = self._expanded[p] = []
                while k < len(vocab) and vocab[k].startswith(p):
                    found.append(vocab[k])
                    k += 1
                exact.update(found)
        wanted = self._asked = frozenset(exact)
        self._where: dict[str, set[int]] = {}
        for page_id, terms in self.pages:
            for t in terms & wanted:
                self._where.setdefault(t, set()).add(page_id)

    def candidates(self, tree: Node | None) -> frozenset[int]:
        """The page ids `tree` may match (all pages when it sets no condition)."""
        found = self._pages(tree)
        if found is None:
            return self.all_pages
        return frozenset(found | self.always)

    def _term(self, term: str) -> set[int]:
        found = self._where.get(term)
        if found is None:
            # Not on any page, or a term of a query not given at construction: look now.
            found = set() if term in self._asked else {p for p, terms in self.pages if term in terms}
            self._where[term] = found
        return found

    def _pages(self, n: Node | None) -> set[int] | None:
        """The pages `n` may match; None: no condition (any page)."""
        if isinstance(n, Term):
            if not n.prefix:
                return self._term(n.term)
            if n.term not in self._expanded:
                self._expanded[n.term] = [t for _, terms in self.pages for t in terms if t.startswith(n.term)]
            out: set[int] = set()
            for t in self._expanded[n.term]:
                out |= self._term(t)
            return out
        if isinstance(n, Phrase):
            sets = sorted((self._term(t) for t in n.terms), key=len)
            return set(sets[0]).intersection(*sets[1:]) if sets else None
        if isinstance(n, Or):
            union: set[int] = set()
            for item in n.items:
                found = self._pages(item)
                if found is None:
                    return None
                union |= found
            return union
        if isinstance(n, And):
            known = [
                f for item in n.items if not isinstance(item, Not) and (f := self._pages(item)) is not None
            ]
            if not known:
                return None
            known.sort(key=len)
            return set(known[0]).intersection(*known[1:])
        return None  # Not, or nothing (filters only): no condition


def _too_long(terms: Iterable[str]) -> bool:
    return any(len(t.encode("utf-16-le")) > 2 * _MAX_UNITS for t in terms)


def _collect(n: Node | None, exact: set[str], prefixes: set[str]) -> None:
    if isinstance(n, Term):
        (prefixes if n.prefix else exact).add(n.term)
    elif isinstance(n, Phrase):
        exact.update(n.terms)
    elif isinstance(n, Or | And):
        for item in n.items:
            _collect(item, exact, prefixes)
    elif isinstance(n, Not):
        _collect(n.item, exact, prefixes)

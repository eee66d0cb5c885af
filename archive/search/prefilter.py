"""Which pages of a batch a query can possibly match, from the terms the pages were indexed with.

Saved searches run after every indexing batch, and most of them cannot match any page of it (a
name, a reference: their words are not there). The pages were just analysed (`IndexRecord` text
fields hold the whitespace-joined terms an engine with a whitespace analyzer indexes), so a
query's necessary condition can be checked here before the engine is asked:

    a term              a page holding it
    a prefix            no condition (expanding it costs more than the engine's look-up)
    a phrase            a page holding its rarest term (the others and the order: the engine's)
    a AND b             the pages of its rarest side (a NOT side is no condition)
    a OR b              the pages of either side
    NOT a               no condition: any page
    filters             the pages whose fields pass them (`filter_pages`), as the engine's
                        keyword fields compare: collection, kind, year exactly; lang exactly or
                        as a prefix before "-"; dates as strings; keyword lists (sender, entity,
                        ...) ignoring ASCII case, and any page holding a value outside ASCII
                        (the engine's lowercasing is not Python's there)

The answer is a superset of the pages the engine matches, never fewer: the engine still decides.
It holds only for an engine whose terms are exactly the whitespace-separated analysed terms
(Elasticsearch's `whitespace` analyzer); FTS5's unicode61 tokenizer splits terms again itself.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping

from .base import IndexRecord, day_after
from .query import And, Node, Not, Or, Phrase, Term

# Lucene's whitespace tokenizer cuts a token at 255 UTF-16 units: a page with a longer term (one
# of 255 characters outside the BMP) holds pieces the split here does not see, so it is a
# candidate for every query.
_MAX_UNITS = 255


class PageTerms:
    """The terms of a batch's pages, for `candidates`."""

    def __init__(self, records: Iterable[IndexRecord], trees: Iterable[Node | None] = ()):
        """`trees`: the queries that will be asked (a term of another query sets no condition).
        Each page's terms are read once, in C (split, set intersection, counting): this runs on
        a thousand pages for a thousand saved searches after every batch."""
        asked = [t for t in trees if t is not None]
        exact: set[str] = set()
        for tree in asked:
            _collect(tree, exact)
        self.records = list(records)
        self.page_ids: list[int] = []
        self.always: set[int] = set()  # pages that are candidates for every query
        token_lists: list[list[str]] = []
        for r in self.records:
            text = f"{r.body} {r.translation} {r.gloss}"
            tokens = text.split()
            self.page_ids.append(r.page_id)
            token_lists.append(tokens)
            # Only characters beyond the BMP take two units (analysis cuts terms at 255 characters).
            if not text.isascii() and max(text) > "\uffff" and _too_long(tokens):
                self.always.add(r.page_id)
        self.all_pages = frozenset(self.page_ids)
        self._known = frozenset(exact)
        self._page_hits = [self._known.intersection(tokens) for tokens in token_lists]
        self._df = Counter(itertools.chain.from_iterable(self._page_hits))
        # The pages of the terms that decide: per query only its rarest necessary terms.
        chosen: set[str] = set()
        for tree in asked:
            if (choice := self._choose(tree)) is not None:
                chosen.update(choice[0])
        self._fields: dict[str, dict[str, set[int]]] = {}  # field -> value -> pages (filters)
        self._sorted_dates: list[str] | None = None
        self._where: dict[str, set[int]] = {t: set() for t in chosen}
        for page_id, hits in zip(self.page_ids, self._page_hits, strict=True):
            for t in hits & chosen:
                self._where[t].add(page_id)

    def candidates(self, tree: Node | None) -> frozenset[int]:
        """The page ids `tree` may match (all pages when it sets no condition)."""
        choice = self._choose(tree)
        if choice is None:
            return self.all_pages
        found = set(self.always)
        for t in choice[0]:
            found |= self._pages(t)
        return frozenset(found)

    def filter_pages(
        self, filters: Mapping[str, list[str]], date_from: str | None, date_to: str | None
    ) -> frozenset[int] | set[int]:
        """The pages that may pass these filters (as `archive.search.base.merged_filters` gives
        them; the same rules as the engine's filter clauses)."""
        found: frozenset[int] | set[int] = self.all_pages
        for name, values in filters.items():
            if not values:
                continue
            if name in ("collection", "kind", "year"):
                index = self._index(name)
                found = found & set().union(*(index.get(v, ()) for v in values))
            elif name == "lang":
                index = self._index(name)
                found = found & set().union(
                    *(pages for lang, pages in index.items() if any(_lang_may_pass(lang, v) for v in values))
                )
            else:
                unsure = self._index(f"kw:{name}:unsure").get("", set())
                for v in values:  # every value must be there
                    if not v.isascii():
                        continue
                    key = v.lower()
                    found = found & (
                        self._index(f"kw:{name}").get(key, set())
                        | self._index(f"kw:{name}_alias").get(key, set())
                        | unsure
                    )
            if not found:
                return found
        if date_from or date_to:
            dates = self._dates()
            low = bisect.bisect_left(dates, date_from) if date_from else 0
            high = bisect.bisect_left(dates, day_after(date_to)) if date_to else len(dates)
            index = self._index("date")
            found = found & set().union(*(index[d] for d in dates[low:high]))
        return found

    def _dates(self) -> list[str]:
        """The pages' distinct dates, in order (compared as strings, as the engine does)."""
        if self._sorted_dates is None:
            self._sorted_dates = sorted(self._index("date"))
        return self._sorted_dates

    def _index(self, field: str) -> dict[str, set[int]]:
        """value -> pages for a page field, made on first use. `kw:NAME`: a keyword list by its
        ASCII values lowercased; `kw:NAME:unsure`: under "", the pages holding a value of NAME or
        NAME_alias outside ASCII."""
        index = self._fields.get(field)
        if index is not None:
            return index
        index = self._fields[field] = {}
        if field.endswith(":unsure"):
            name = field[3:].removesuffix(":unsure")
            index[""] = {
                r.page_id
                for r in self.records
                for v in (*r.keywords.get(name, ()), *r.keywords.get(f"{name}_alias", ()))
                if not v.isascii()
            }
        elif field.startswith("kw:"):
            for r in self.records:
                for v in r.keywords.get(field[3:], ()):
                    if v.isascii():
                        index.setdefault(v.lower(), set()).add(r.page_id)
        else:
            for r in self.records:
                value = r.year if field == "year" else getattr(r, field)
                if value is not None:  # a page without a date passes no date bound
                    index.setdefault(str(value), set()).add(r.page_id)
        return index

    def _pages(self, term: str) -> set[int]:
        found = self._where.get(term)
        if found is None:
            found = self._where[term] = {
                p for p, hits in zip(self.page_ids, self._page_hits, strict=True) if term in hits
            }
        return found

    def _choose(self, n: Node | None) -> tuple[list[str], int] | None:
        """Terms one of which a page must hold to match `n`, and on how many pages they are
        (the fewest such terms that can be told); None: no condition."""
        if isinstance(n, Term):
            # A prefix sets no condition: expanding it over the batch's terms costs more than the
            # node spends on the query.
            return ([n.term], self._df[n.term]) if n.term in self._known and not n.prefix else None
        if isinstance(n, Phrase):
            known = [t for t in n.terms if t in self._known]
            if not known:
                return None
            rarest = min(known, key=self._df.__getitem__)
            return [rarest], self._df[rarest]
        if isinstance(n, Or):
            terms: list[str] = []
            pages = 0
            for item in n.items:
                choice = self._choose(item)
                if choice is None:
                    return None
                terms += choice[0]
                pages += choice[1]
            return terms, pages
        if isinstance(n, And):
            choices = [c for i in n.items if not isinstance(i, Not) and (c := self._choose(i)) is not None]
            return min(choices, key=lambda c: c[1]) if choices else None
        return None  # Not, or nothing (filters only): no condition


def _lang_may_pass(lang: str, wanted: str) -> bool:
    """`lang:zh` passes zh, zh-Hans and zh-Hant (the engine: a term, or a case-insensitive
    prefix "zh-"); outside ASCII, any."""
    if lang == wanted:
        return True
    prefix = wanted + "-"
    if not (lang.isascii() and prefix.isascii()):
        return True
    return lang[: len(prefix)].lower() == prefix.lower()


def _too_long(terms: Iterable[str]) -> bool:
    return any(len(t.encode("utf-16-le")) > 2 * _MAX_UNITS for t in terms)


def _collect(n: Node | None, exact: set[str]) -> None:
    if isinstance(n, Term):
        if not n.prefix:
            exact.add(n.term)
    elif isinstance(n, Phrase):
        exact.update(n.terms)
    elif isinstance(n, Or | And):
        for item in n.items:
            _collect(item, exact)
    elif isinstance(n, Not):
        _collect(n.item, exact)

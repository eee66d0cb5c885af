"""Known-item queries over the real corpus, with the documents each must find (issue #13).

    .venv/bin/python eval/make_recall_queries.py [--keep DIR] [--out eval/gold/recall_queries.jsonl]

Ingests every file of the shared corpus (all files under it except MANIFEST.tsv and README.md)
into an archive (a temporary one, or DIR with --keep: reused when it already holds the corpus, and
its OCR cache makes a fresh ingest there faster), then draws queries from the stored page texts and
metadata in these classes:

    en-word         a rare English word
    en-phrase       2-3 consecutive English words, quoted
    zh-word         a jieba word of 2-4 characters from a Chinese page
    zh-char         a single Han character found in few documents
    zh-substring    2-3 characters in a row that cross a boundary between jieba's words
    trad-to-simp    a word of a Traditional page, queried in Simplified
    simp-to-trad    a word of a Simplified page, queried in Traditional (characters with one
                    Traditional form only, from the reverse of archive.hanfold's table)
    name            a person or organisation mention of a page's meta entities
    email           an address of a mail's From/To/Cc, queried as text
    exemption       an exemption code found on a page, queried as exemption:"CODE"
    cross-language  an English word of a Chinese page's CC-CEDICT gloss

The documents a query must find are worked out here by brute force over the stored texts, without
the search code: English by a word-boundary regex over the NFKC, case-folded text (Latin words end
where a letter or digit of another script than Han would continue them, as Han characters are
words of their own); Chinese by substring over the text folded Traditional -> Simplified with the
whitespace and punctuation between Han characters removed; emails and exemptions from metadata.
Every field a page is searched by (original, translation, gloss) is looked at. A query is kept
only when its matches fit in the top 10: at most 10 pages (a search returns pages) of at most 10
documents. A hit on an attachment or archive member counts for the top-level document it came in,
which is identified by its sha256 and file name. The draw is seeded, so the output is the same for
the same stored texts (the order of candidates is a seeded hash of each query).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
GOLD = Path(__file__).resolve().parent / "gold" / "recall_queries.jsonl"
SEED = 13
TOP = 10

# Queries drawn per class (fewer when the corpus has fewer candidates).
QUOTAS = {
    "en-word": 30,
    "en-phrase": 25,
    "zh-word": 25,
    "zh-char": 15,
    "zh-substring": 20,
    "trad-to-simp": 15,
    "simp-to-trad": 15,
    "name": 20,
    "email": 15,
    "exemption": 10,
    "cross-language": 20,
}
# At most this many queries of one class come from one top-level document, so the draw spreads.
PER_DOCUMENT = 3

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_HAN_RUN = re.compile(f"[{HAN}]+")
# A letter or digit that is not Han: what continues a Latin word (Han characters stand alone).
_LATIN_W = f"(?:(?![{HAN}])[^\\W_])"
_LATIN_WORD = re.compile(f"{_LATIN_W}+")
_LETTERS = re.compile(r"[a-z]+")

DocKey = tuple[str, str]  # (sha256, filename) of a top-level document


# -- the corpus in an archive ---------------------------------------------------------------


def corpus_files(corpus: Path = CORPUS) -> list[Path]:
    """Every file of the corpus but its MANIFEST.tsv and README.md, in a fixed order."""
    skip = {"MANIFEST.tsv", "README.md"}
    return sorted(
        p for p in corpus.rglob("*") if p.is_file() and p.relative_to(corpus).as_posix() not in skip
    )


def ingest_corpus(root: Path, corpus: Path = CORPUS, quiet: bool = False) -> None:
    """Ingest the corpus into the archive at `root` unless every file is already there."""
    from archive import Archive
    from archive.store import sha256_file

    files = corpus_files(corpus)
    db = root / "foi.sqlite3"
    if db.exists():
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            stored = {
                r[0]
                for r in con.execute(
                    "SELECT sha256 FROM documents WHERE parent_id IS NULL AND status IN ('done', 'failed')"
                )
            }
        finally:
            con.close()
        if all(sha256_file(p) in stored for p in files):
            if not quiet:
                print(f"reusing the ingested corpus in {root}", file=sys.stderr)
            return
    if not quiet:
        print(f"ingesting {len(files)} files into {root} (OCR takes minutes) ...", file=sys.stderr)
    started = time.monotonic()
    with Archive(root) as archive:
        report = archive.ingest(files)
    if not quiet:
        print(
            f"ingested in {time.monotonic() - started:.0f} s: {report.ingested} new, "
            f"{len(report.failures)} failed",
            file=sys.stderr,
        )


# -- the stored texts -----------------------------------------------------------------------


@dataclass
class Page:
    page_id: int
    doc: DocKey  # its top-level document
    lang: str
    fields: tuple[str, ...]  # original, translation, gloss as stored
    meta: dict[str, Any]
    folded: tuple[str, ...] = ()  # NFKC, case-folded
    han: tuple[tuple[str, ...], ...] = ()  # per field: Han segments, folded, gaps removed


@dataclass
class Corpus:
    pages: list[Page]
    mail: dict[DocKey, list[dict[str, Any]]] = field(default_factory=dict)  # top-level doc -> mail headers
    # Which pages hold a Latin word / a Han character: only those pages are scanned for a query.
    by_word: dict[str, set[int]] = field(default_factory=dict)
    by_char: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_word: dict[str, set[int]] = defaultdict(set)
        by_char: dict[str, set[int]] = defaultdict(set)
        for i, p in enumerate(self.pages):
            for f in p.folded:
                for w in set(_LATIN_WORD.findall(f)):
                    by_word[w].add(i)
            for segs in p.han:
                for seg in segs:
                    for ch in set(seg):
                        by_char[ch].add(i)
        self.by_word, self.by_char = dict(by_word), dict(by_char)

    def holding(self, index: dict[str, set[int]], keys: Iterable[str]) -> list[Page]:
        """The pages that hold every key (a cheap pre-filter, exact matching comes after)."""
        sets = [index.get(k, set()) for k in set(keys)]
        found = set.intersection(*sets) if sets else set()
        return [self.pages[i] for i in sorted(found)]


def fold(text: str) -> str:
    from archive.hanfold import fold_han

    return fold_han(unicodedata.normalize("NFKC", text))


def han_segments(text: str) -> tuple[str, ...]:
    """The Han characters of `text` (folded to Simplified) as runs in which whitespace and
    punctuation between characters are dropped; a letter or digit of another script ends a run."""
    text = fold(text)
    out: list[str] = []
    current = ""
    last = 0
    for m in _HAN_RUN.finditer(text):
        if current and _LATIN_WORD.search(text[last : m.start()]):
            out.append(current)
            current = ""
        current += m.group()
        last = m.end()
    if current:
        out.append(current)
    return tuple(out)


def load_corpus(root: Path) -> Corpus:
    """Every stored page with its top-level document, read straight from the archive's file."""
    con = sqlite3.connect(f"file:{root / 'foi.sqlite3'}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        docs = {
            r["id"]: r for r in con.execute("SELECT id, parent_id, sha256, filename, metadata FROM documents")
        }
        rows = con.execute(
            "SELECT id, document_id, number, lang, text, translation, gloss, meta FROM pages"
        ).fetchall()
    finally:
        con.close()

    def top(doc_id: int) -> DocKey:
        seen = set()
        while docs[doc_id]["parent_id"] is not None and doc_id not in seen:
            seen.add(doc_id)
            doc_id = docs[doc_id]["parent_id"]
        return docs[doc_id]["sha256"], docs[doc_id]["filename"]

    pages = []
    for r in rows:
        texts = (r["text"] or "", r["translation"] or "", r["gloss"] or "")
        pages.append(
            Page(
                page_id=r["id"],
                doc=top(r["document_id"]),
                lang=r["lang"] or "und",
                fields=texts,
                meta=json.loads(r["meta"] or "{}"),
                folded=tuple(unicodedata.normalize("NFKC", t).casefold() for t in texts),
                han=tuple(han_segments(t) for t in texts),
            )
        )
    # A stable order whatever order the ingest stored things in.
    pages.sort(key=lambda p: (p.doc, p.fields))
    mail: dict[DocKey, list[dict[str, Any]]] = defaultdict(list)
    for doc_id, d in docs.items():
        meta = json.loads(d["metadata"] or "{}")
        if isinstance(meta.get("mail"), dict):
            mail[top(doc_id)].append(meta["mail"])
    return Corpus(pages, dict(mail))


# -- brute-force matching --------------------------------------------------------------------


def words_pattern(words: list[str]) -> re.Pattern[str]:
    """Latin `words` in a row (only whitespace or punctuation between them), as whole words."""
    inner = r"[\W_]+".join(re.escape(w) for w in words)
    return re.compile(f"(?<!{_LATIN_W}){inner}(?!{_LATIN_W})")


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def english_matches(corpus: Corpus, text: str) -> list[Page]:
    words = latin_words(text)
    if not words:
        return []
    pattern = words_pattern(words)
    return [p for p in corpus.holding(corpus.by_word, words) if any(pattern.search(f) for f in p.folded)]


def chinese_matches(corpus: Corpus, text: str) -> list[Page]:
    chars = "".join(_HAN_RUN.findall(fold(text)))
    if not chars:
        return []
    pages = corpus.holding(corpus.by_char, chars)
    return [p for p in pages if any(chars in seg for segs in p.han for seg in segs)]


def exemption_matches(corpus: Corpus, code: str) -> list[Page]:
    return [p for p in corpus.pages if code in {e.get("norm") for e in entities(p, {"exemption"})}]


def entities(page: Page, types: set[str]) -> list[dict[str, Any]]:
    return [e for e in page.meta.get("entities") or [] if isinstance(e, dict) and e.get("type") in types]


def mail_addresses(mail: dict[str, Any]) -> list[str]:
    """The addresses of a mail's From, To and Cc (the ones its text's header block shows)."""
    people = [mail.get("from")] + list(mail.get("to") or []) + list(mail.get("cc") or [])
    return [str(p["address"]) for p in people if isinstance(p, dict) and p.get("address")]


# -- the draw --------------------------------------------------------------------------------


@dataclass
class Query:
    cls: str
    query: str
    relevant: list[DocKey]

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "query": self.query,
            "relevant": [{"sha256": s, "filename": f} for s, f in self.relevant],
        }


@dataclass
class Candidate:
    query: str
    origin: DocKey  # the document it was drawn from
    relevant: Callable[[], list[DocKey] | None]  # None: matches too many pages or documents


def fits(pages: list[Page]) -> list[DocKey] | None:
    """The documents of `pages` when they all fit in a top 10 of pages, else None."""
    docs = sorted({p.doc for p in pages})
    if not pages or len(pages) > TOP or len(docs) > TOP:
        return None
    return docs


def draw(cls: str, candidates: Iterable[Candidate], quota: int, seed: int) -> list[Query]:
    """Up to `quota` queries from `candidates` in a seeded pseudo-random order, whose matches fit
    the top 10 and include the document they were drawn from. The order is a hash of each query
    (not a shuffle of the whole pool), so a candidate more or less (an OCR or NER difference)
    changes the draw by that candidate only, not the whole class."""

    def rank(c: Candidate) -> str:
        return hashlib.sha256(f"{seed}:{cls}:{c.query}".encode()).hexdigest()

    pool = sorted({c.query: c for c in candidates}.values(), key=rank)
    out: list[Query] = []
    per_doc: Counter[DocKey] = Counter()
    for c in pool:
        if len(out) >= quota:
            break
        if per_doc[c.origin] >= PER_DOCUMENT:
            continue
        relevant = c.relevant()
        if relevant is None or c.origin not in relevant:
            continue
        per_doc[c.origin] += 1
        out.append(Query(cls, c.query, relevant))
    return out


def is_chinese(page: Page) -> bool:
    """A page whose original has Chinese: a zh page, or at least two Han characters in a row
    (a mail in English with a Chinese subject counts)."""
    han = _HAN_RUN.findall(page.fields[0])
    return bool(han) and (page.lang.startswith("zh") or max(map(len, han)) >= 2)


def jieba_words(text: str) -> Iterator[list[str]]:
    """jieba's precise cut of each Han run of the folded text."""
    import jieba

    for run in _HAN_RUN.findall(fold(text)):
        yield [w for w in jieba.cut(run, HMM=False) if w]


def english_words(corpus: Corpus) -> dict[str, set[DocKey]]:
    """Each Latin word to the documents holding it."""
    return defaultdict(set, {w: {corpus.pages[i].doc for i in pages} for w, pages in corpus.by_word.items()})


def en_word(corpus: Corpus) -> Iterator[Candidate]:
    df = english_words(corpus)
    for p in corpus.pages:
        for w in set(_LATIN_WORD.findall(p.folded[0])):
            if len(w) >= 6 and _LETTERS.fullmatch(w) and len(df[w]) <= 2:
                yield Candidate(w, p.doc, lambda w=w: fits(english_matches(corpus, w)))


def en_phrase(corpus: Corpus) -> Iterator[Candidate]:
    df = english_words(corpus)
    for p in corpus.pages:
        words = [w for w in re.split(r"[^\w.,;:'\"()\-]+", p.folded[0]) if w]
        for i in range(len(words)):
            for n in (2, 3):
                group = words[i : i + n]
                # Plain words with only spaces between them, at least one of them not rare (a
                # phrase of rare words alone says little about phrase search).
                if len(group) < n or not all(_LETTERS.fullmatch(w) and len(w) >= 3 for w in group):
                    continue
                if all(len(df[w]) <= 2 for w in group):
                    continue
                text = " ".join(group)
                yield Candidate(f'"{text}"', p.doc, lambda t=text: fits(english_matches(corpus, t)))


def zh_words(corpus: Corpus, pages: Iterable[Page]) -> Iterator[tuple[Page, str]]:
    for p in pages:
        for cut in jieba_words(p.fields[0]):
            for w in cut:
                if 2 <= len(w) <= 4 and _HAN_RUN.fullmatch(w):
                    yield p, w


def zh_word(corpus: Corpus) -> Iterator[Candidate]:
    for p, w in zh_words(corpus, filter(is_chinese, corpus.pages)):
        yield Candidate(w, p.doc, lambda w=w: fits(chinese_matches(corpus, w)))


def zh_char(corpus: Corpus) -> Iterator[Candidate]:
    docs = {ch: {corpus.pages[i].doc for i in pages} for ch, pages in corpus.by_char.items()}
    for p in filter(is_chinese, corpus.pages):
        for ch in sorted({c for seg in p.han[0] for c in seg}):
            if len(docs[ch]) <= 3:
                yield Candidate(ch, p.doc, lambda ch=ch: fits(chinese_matches(corpus, ch)))


def zh_substring(corpus: Corpus) -> Iterator[Candidate]:
    import jieba

    for p in filter(is_chinese, corpus.pages):
        for cut in jieba_words(p.fields[0]):
            run = "".join(cut)
            bounds = set()
            at = 0
            for w in cut:
                at += len(w)
                bounds.add(at)
            starts = {0} | bounds
            for i in range(len(run)):
                for n in (2, 3):
                    j = i + n
                    if j > len(run):
                        continue
                    # Crosses a boundary: one falls strictly inside, and the window is not itself
                    # a run of whole words.
                    if not any(i < b < j for b in bounds) or (i in starts and j in starts):
                        continue
                    window = run[i:j]
                    if jieba.get_FREQ(window):
                        continue  # a dictionary word: that is zh-word's business
                    yield Candidate(window, p.doc, lambda w=window: fits(chinese_matches(corpus, w)))


def _traditional_chars() -> set[str]:
    from archive.hanfold import traditional_to_simplified

    return set(traditional_to_simplified())


def spelled_words(page: Page) -> Iterator[tuple[str, str]]:
    """(word, the word as the page spells it) for each jieba word of 2-4 characters of the page's
    original text; the word is folded to Simplified, the spelling is not."""
    original = unicodedata.normalize("NFKC", page.fields[0])
    for run in _HAN_RUN.findall(original):
        for cut in jieba_words(run):
            at = 0
            for word in cut:
                own = run[at : at + len(word)]  # folding keeps lengths
                at += len(word)
                if 2 <= len(word) <= 4:
                    yield word, own


def trad_to_simp(corpus: Corpus) -> Iterator[Candidate]:
    traditional = _traditional_chars()
    for p in filter(is_chinese, corpus.pages):
        for word, own in spelled_words(p):
            if any(ch in traditional for ch in own):
                yield Candidate(word, p.doc, lambda w=word: fits(chinese_matches(corpus, w)))


def simplified_to_traditional() -> dict[str, str]:
    """Each Simplified character with exactly one Traditional form, to that form."""
    from archive.hanfold import traditional_to_simplified

    forms: dict[str, set[str]] = defaultdict(set)
    for t, s in traditional_to_simplified().items():
        forms[s].add(t)
    return {s: next(iter(ts)) for s, ts in forms.items() if len(ts) == 1}


def simp_to_trad(corpus: Corpus) -> Iterator[Candidate]:
    from archive.hanfold import traditional_to_simplified

    reverse = simplified_to_traditional()
    several = set(traditional_to_simplified().values()) - set(reverse)
    traditional = _traditional_chars()
    for p in filter(is_chinese, corpus.pages):
        for word, own in spelled_words(p):
            # Spelled in Simplified on the page, and every character that has a Traditional form
            # has exactly one.
            if any(ch in traditional for ch in own) or any(ch in several for ch in word):
                continue
            query = "".join(reverse.get(ch, ch) for ch in word)
            if query != word:
                yield Candidate(query, p.doc, lambda q=query: fits(chinese_matches(corpus, q)))


def name(corpus: Corpus) -> Iterator[Candidate]:
    for p in corpus.pages:
        for e in entities(p, {"person", "org"}):
            text = " ".join(str(e.get("text") or "").split())
            han = _HAN_RUN.findall(text)
            if han and "".join(han) == re.sub(r"\s", "", text):
                yield Candidate(text, p.doc, lambda t=text: fits(chinese_matches(corpus, t)))
            elif not han and len(latin_words(text)) >= 1 and len(text) >= 4:
                query = f'"{text}"' if " " in text else text
                if '"' in text:
                    continue
                yield Candidate(query, p.doc, lambda t=text: fits(english_matches(corpus, t)))


def email(corpus: Corpus) -> Iterator[Candidate]:
    by_address: dict[str, set[DocKey]] = defaultdict(set)
    for doc, mails in corpus.mail.items():
        for m in mails:
            for a in mail_addresses(m):
                by_address[a].add(doc)

    def relevant(address: str) -> list[DocKey] | None:
        # Every page the address is written on must fit in the top 10 too.
        if fits(english_matches(corpus, address)) is None:
            return None
        docs = sorted(by_address[address])
        return docs if len(docs) <= TOP else None

    for address, docs in sorted(by_address.items()):
        if "@" in address and '"' not in address:
            for doc in sorted(docs):
                yield Candidate(address, doc, lambda a=address: relevant(a))


def exemption(corpus: Corpus) -> Iterator[Candidate]:
    for p in corpus.pages:
        for e in entities(p, {"exemption"}):
            code = str(e.get("norm") or "")
            if code and '"' not in code:
                yield Candidate(
                    f'exemption:"{code}"', p.doc, lambda c=code: fits(exemption_matches(corpus, c))
                )


def cross_language(corpus: Corpus) -> Iterator[Candidate]:
    df = english_words(corpus)
    for p in filter(is_chinese, corpus.pages):
        gloss = set(_LATIN_WORD.findall(p.folded[2]))
        for rec in p.meta.get("gloss_words") or []:
            if isinstance(rec, list) and len(rec) >= 5:
                gloss.update(latin_words(str(rec[4])))
        for w in sorted(gloss):
            # The word must be in what the page is searched by (its gloss field).
            if len(w) >= 5 and _LETTERS.fullmatch(w) and len(df[w]) <= 3 and w in p.folded[2]:
                yield Candidate(w, p.doc, lambda w=w: fits(english_matches(corpus, w)))


CLASSES: dict[str, Callable[[Corpus], Iterator[Candidate]]] = {
    "en-word": en_word,
    "en-phrase": en_phrase,
    "zh-word": zh_word,
    "zh-char": zh_char,
    "zh-substring": zh_substring,
    "trad-to-simp": trad_to_simp,
    "simp-to-trad": simp_to_trad,
    "name": name,
    "email": email,
    "exemption": exemption,
    "cross-language": cross_language,
}


def make_queries(corpus: Corpus, seed: int = SEED) -> list[Query]:
    out: list[Query] = []
    taken: set[str] = set()
    for cls, candidates in CLASSES.items():
        fresh = (c for c in candidates(corpus) if c.query not in taken)
        drawn = draw(cls, fresh, QUOTAS[cls], seed)
        taken.update(q.query for q in drawn)
        out.extend(drawn)
    return out


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options of both scripts for where the corpus is and which archive holds it."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument(
        "--keep", type=Path, help="archive folder to ingest into, or to reuse when it holds the corpus"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = argument_parser(__doc__)
    ap.add_argument("--out", type=Path, default=GOLD)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="foi-recall-") as tmp:
        root = (args.keep or Path(tmp) / "archive").resolve()
        ingest_corpus(root, args.corpus)
        corpus = load_corpus(root)
    queries = make_queries(corpus, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps(q.as_dict(), ensure_ascii=False) + "\n")
    counts = Counter(q.cls for q in queries)
    for cls in CLASSES:
        print(f"{cls:15} {counts[cls]:4}")
    print(f"{'total':15} {len(queries):4}  -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

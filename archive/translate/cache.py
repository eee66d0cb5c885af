"""The translation cache (by model and sentence hash, in the archive's database) and
translating page texts through it: only sentences missing from the cache go to the model."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence

from .engine import Translator, needs_translation, split_sentences


class TranslationCache:
    """Translations by (model, sha256 of the source sentence), in the archive's database."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS translation_cache (model TEXT NOT NULL, sha TEXT NOT NULL, "
            "target TEXT NOT NULL, PRIMARY KEY (model, sha))"
        )

    @staticmethod
    def key(sentence: str) -> str:
        return hashlib.sha256(sentence.encode("utf-8")).hexdigest()

    def get_many(self, model: str, sentences: Sequence[str]) -> dict[str, str]:
        by_key = {self.key(s): s for s in set(sentences)}
        found: dict[str, str] = {}
        keys = list(by_key)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.db.execute(
                f"SELECT sha, target FROM translation_cache WHERE model=? AND sha IN ({','.join('?' * len(chunk))})",
                (model, *chunk),
            )
            for sha, target in rows:
                found[by_key[sha]] = target
        return found

    def put_many(self, model: str, pairs: dict[str, str]) -> None:
        """Store translations, in one transaction (the caller's when it has one open)."""
        if not pairs:
            return
        own = not self.db.in_transaction
        if own:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO translation_cache(model, sha, target) VALUES (?,?,?)",
                [(model, self.key(s), t) for s, t in pairs.items()],
            )
        except BaseException:
            if own:
                self.db.execute("ROLLBACK")
            raise
        if own:
            self.db.execute("COMMIT")


def plan_texts(
    texts: Sequence[str],
    model_id: str,
    cache: TranslationCache,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[list[str]], dict[str, str], list[str]]:
    """Sentences of each text, the cached translations among them, and the distinct sentences
    the model must translate (less those in `exclude`: already on their way to the model)."""
    split = [split_sentences(text) for text in texts]
    wanted = [s for sentences in split for s in sentences if needs_translation(s)]
    known = cache.get_many(model_id, wanted) if wanted else {}
    missing = list(dict.fromkeys(s for s in wanted if s not in known and s not in exclude))
    return split, known, missing


def aligned_pairs(split: list[list[str]], known: dict[str, str]) -> list[tuple[str, list[list[str]]]]:
    out = []
    for sentences in split:
        pairs = [[s, known[s] if needs_translation(s) else s] for s in sentences]
        out.append(("\n".join(t for _, t in pairs), pairs))
    return out


def sentence_errors(pairs: list[list[str]], failures: dict[str, str]) -> list[dict[str, str]]:
    """The sentences of a page (its aligned pairs) that the model failed on, with the reason:
    recorded on the page as meta["translation_errors"]."""
    return [{"sentence": src[:300], "reason": failures[src]} for src, _ in pairs if src in failures]


def cacheable(fresh: dict[str, str], failures: dict[str, str]) -> dict[str, str]:
    """New translations less the sentences the model failed on (tried again on a later run)."""
    return {s: t for s, t in fresh.items() if s not in failures}


def translate_texts(
    texts: Sequence[str], translator: Translator, cache: TranslationCache
) -> list[tuple[str, list[list[str]]]]:
    """(joined translation, aligned [source, target] pairs) of each text, with every sentence
    missing from the cache sent to the model in one call (the model batches them itself), and
    the new translations written to the cache."""
    split, known, missing = plan_texts(texts, translator.model_id, cache)
    if missing:
        fresh = dict(zip(missing, translator.translate_segments(missing), strict=True))
        cache.put_many(translator.model_id, cacheable(fresh, getattr(translator, "failures", {})))
        known.update(fresh)
    return aligned_pairs(split, known)


def translate_text(text: str, translator: Translator, cache: TranslationCache) -> tuple[str, list[list[str]]]:
    """(joined translation, aligned [source, target] pairs) of one page's text."""
    return translate_texts([text], translator, cache)[0]

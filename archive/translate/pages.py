"""What the translate step does to a document's pages, in the ingest's process (`step`) or on a
cluster worker (`remote`): the same functions on both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..language import is_chinese
from ..models import StageError
from .cache import TranslationCache, sentence_errors, translate_texts
from .engine import ArgosTranslator, has_chinese
from .packages import TranslationError

if TYPE_CHECKING:
    from ..models import PageResult
    from ..steps import DocWork


def chinese_pages(work: DocWork) -> list[PageResult]:
    """The pages to translate; Chinese pages with nothing to translate are marked skipped."""
    for page in work.pages:
        if not has_chinese(page.text) and is_chinese(page.lang):
            page.meta["translation_status"] = "skipped"
    return [p for p in work.pages if has_chinese(p.text)]


def translate_pages(work: DocWork, translator: ArgosTranslator, cache: TranslationCache) -> int:
    """Translate the pages with Chinese in them (what the step does, in the ingest's process or
    on a cluster worker); returns how many pages. A model that cannot run leaves them pending
    and fails the stage."""
    pages = [p for p in work.pages if has_chinese(p.text)]
    try:
        results = translate_texts([p.text for p in pages], translator, cache)
    except TranslationError as exc:
        for page in pages:
            page.meta["translation_status"] = "pending"
        raise StageError("translate", str(exc)) from exc
    for page, (translation, pairs) in zip(pages, results, strict=True):
        page.meta.update(translation=translation, segments=pairs, translation_status="done")
        # A sentence the model failed on stays untranslated, named on its page.
        if errors := sentence_errors(pairs, translator.failures):
            page.meta["translation_errors"] = errors
    return len(pages)

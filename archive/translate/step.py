"""The pipeline step that translates the Chinese sentences of every page."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..language import is_chinese
from ..models import StageError
from .cache import TranslationCache, sentence_errors, translate_texts
from .engine import ArgosTranslator, has_chinese
from .packages import TranslationError

if TYPE_CHECKING:
    from ..models import PageResult
    from ..steps import DocWork, StepContext, StepRecipe


NO_MODEL = "no model installed"


def _chinese_pages(work: DocWork) -> list[PageResult]:
    """The pages to translate; Chinese pages with nothing to translate are marked skipped."""
    for page in work.pages:
        if not has_chinese(page.text) and is_chinese(page.lang):
            page.meta["translation_status"] = "skipped"
    return [p for p in work.pages if has_chinese(p.text)]


def _skip_for_no_model(pages: list[PageResult]) -> None:
    for page in pages:
        page.meta["translation_status"] = "pending"  # for `foi translate`, once a model is installed


class UntranslatedStep:
    """`TranslateStep` of an archive with no model installed, as a cluster worker runs it: pages
    marked as that step marks them, the step skipped with the same reason (per thread: a
    worker's threads share the step)."""

    name = "translate"

    def __init__(self) -> None:
        self._reason = threading.local()

    @property
    def skip_reason(self) -> str | None:
        return getattr(self._reason, "value", None)

    def needed(self, work: DocWork) -> bool:
        pages = _chinese_pages(work)
        _skip_for_no_model(pages)
        self._reason.value = NO_MODEL if pages else "no Chinese text"
        return False

    def run(self, work: DocWork) -> None:
        raise AssertionError("never needed: there is no model to translate with")


class TranslateStep:
    """Translate the Chinese sentences of every page when a zh->en model is installed.

    With no model the step is skipped (`skip_reason` says why) and pages with Chinese in them
    are marked translation-pending for `foi translate`; Chinese-language pages with no Han
    characters (nothing to translate) are marked skipped so they never wait for a model."""

    name = "translate"

    def __init__(self, archive: StepContext):
        self.archive = archive
        self._translator: ArgosTranslator | None = None
        self.skip_reason: str | None = None

    def translator(self) -> ArgosTranslator:
        if self._translator is None:
            self._translator = ArgosTranslator(self.archive.root)
        return self._translator

    def recipe(self) -> StepRecipe | None:
        """With no model installed the step only marks pages, which a cluster worker does with
        the rest of the analysis (archive/portable.py): one task a document instead of two.
        None when a model is installed: it translates here (its model and cache are the archive's)."""
        from ..steps import StepRecipe

        return None if self.translator().available() else StepRecipe(UntranslatedStep)

    def needed(self, work: DocWork) -> bool:
        pages = _chinese_pages(work)
        if not pages:
            self.skip_reason = "no Chinese text"
            return False
        if not self.translator().available():
            _skip_for_no_model(pages)
            self.skip_reason = NO_MODEL
            return False
        self.skip_reason = None
        return True

    def run(self, work: DocWork) -> None:
        pages = [p for p in work.pages if has_chinese(p.text)]
        translator = self.translator()
        cache = TranslationCache(self.archive.store.db)
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

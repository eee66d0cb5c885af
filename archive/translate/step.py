"""The pipeline step that translates the Chinese sentences of every page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..language import is_chinese
from ..models import StageError
from .cache import TranslationCache, sentence_errors, translate_texts
from .engine import ArgosTranslator, has_chinese
from .packages import TranslationError

if TYPE_CHECKING:
    from ..steps import DocWork, StepContext


NO_MODEL = "no model installed"


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

    def needed(self, work: DocWork) -> bool:
        pages = [p for p in work.pages if has_chinese(p.text)]
        for page in work.pages:
            if not has_chinese(page.text) and is_chinese(page.lang):
                page.meta["translation_status"] = "skipped"
        if not pages:
            self.skip_reason = "no Chinese text"
            return False
        if not self.translator().available():
            for page in pages:
                page.meta["translation_status"] = "pending"
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

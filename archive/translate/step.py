"""The pipeline step that translates the Chinese sentences of every page."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .cache import TranslationCache
from .engine import ArgosTranslator
from .pages import chinese_pages, translate_pages

if TYPE_CHECKING:
    from ..models import PageResult
    from ..portable import Recipe
    from ..steps import DocWork, StepContext

log = logging.getLogger(__name__)

NO_MODEL = "no model installed"


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
        pages = chinese_pages(work)
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

    def __init__(self, archive: StepContext, cluster: Callable[[], Any] | None = None):
        self.archive = archive
        self.cluster = cluster  # the cluster engine when the ingest runs on one (else None)
        self._translator: ArgosTranslator | None = None
        self._recipe: Recipe | None = None
        self._recipe_made = False
        self.skip_reason: str | None = None

    def translator(self) -> ArgosTranslator:
        if self._translator is None:
            self._translator = ArgosTranslator(self.archive.root)
        return self._translator

    def recipe(self) -> Recipe | None:
        """What a cluster worker builds this step from (archive/portable.py). With no model
        installed the step only marks pages. With one, the model is sent to the cluster once
        (archive/translate/remote.py) and the workers translate with it; None (translate here)
        when there is no cluster or the model cannot be sent."""
        if not self._recipe_made:
            self._recipe, self._recipe_made = self._make_recipe(), True
        return self._recipe

    def _make_recipe(self) -> Recipe | None:
        from ..steps import StepRecipe

        translator = self.translator()
        if not translator.available():
            return StepRecipe(UntranslatedStep)
        engine = self.cluster() if self.cluster is not None else None
        if engine is None:
            return None
        from .remote import WorkerTranslation, send_model

        try:
            return WorkerTranslation(send_model(engine.client, translator.package_path))
        except Exception as exc:  # a worker that cannot unpack it, a scheduler gone: translate here
            log.warning("translating on the coordinator, the model could not be sent to the cluster: %s", exc)
            return None

    def needed(self, work: DocWork) -> bool:
        pages = chinese_pages(work)
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
        translate_pages(work, self.translator(), TranslationCache(self.archive.store.db))

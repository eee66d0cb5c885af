"""Steps that need nothing of the archive but a document's pages and settings (language, glosses,
entities): on a cluster they run as one task per document on a worker, locally in the ingest's
process, with the same code (`run_step`), so both give the same pages.

A portable step has a `recipe()` (a `steps.StepRecipe`, or one of its own): a small picklable
record from which a worker builds the step (once per process: the models it loads stay loaded).
What travels is the document's pages (texts, word boxes, languages, meta) and its metadata; what
comes back is each page's language and meta, the document's metadata and each step's outcome,
which the coordinator records as it records a step run in its own process. Nothing on the
worker reads or writes the archive.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .extractors import ExtractContext
from .models import Extraction, PageResult, Source, StageError, public_reason

if TYPE_CHECKING:
    from .steps import DocWork, Step

log = logging.getLogger(__name__)


class Recipe(Protocol):
    """What a worker builds a portable step from (hashable: built steps are kept by it)."""

    def build(self) -> Step: ...


@dataclass(frozen=True)
class StepOutcome:
    """How a step went on a document: `ok` (with its note), `skipped` (with why), `failed` (with
    the failure's stage and public reason), or `started` (an asynchronous step begun)."""

    name: str
    status: str
    note: str | None = None
    stage: str | None = None  # of a failure: the step's own name or the StageError's


def run_step(step: Step, work: DocWork, stop_at_async: bool = False) -> StepOutcome:
    """Run one step on a document, with the ingest's rules: a step that is not needed is skipped
    (saying why, when it says), an asynchronous one is only started with `stop_at_async`, a
    failure is the document's (its reason cleaned of paths), never the batch's."""
    try:
        if step.name in work.pending:
            pass  # started before: `run` collects it
        elif not step.needed(work):
            return StepOutcome(step.name, "skipped", getattr(step, "skip_reason", None))
        elif stop_at_async and hasattr(step, "start"):
            step.start(work)
            return StepOutcome(step.name, "started")
        step.run(work)
        return StepOutcome(step.name, "ok", work.notes.get(step.name))
    except StageError as exc:
        return StepOutcome(step.name, "failed", public_reason(exc.reason, work.source), exc.stage)
    except Exception as exc:  # a bug or a library crash on hostile input: recorded, the batch goes on
        reason = public_reason(f"{type(exc).__name__}: {exc}", work.source)
        log.debug("step %s crashed on %s\n%s", step.name, work.source.filename, traceback.format_exc())
        return StepOutcome(step.name, "failed", reason, step.name)


@dataclass
class Analysed:
    """What the portable steps made of a document: each page's language and meta, in page
    order, the document's metadata and each step's outcome."""

    pages: list[tuple[str | None, dict[str, Any]]]
    metadata: dict[str, Any]
    outcomes: list[StepOutcome]
    # Each page's search analysis (indexing.page_analysis) of its texts as they are now; the
    # coordinator keeps it with the page, and makes it again if a later step changes the texts.
    analyses: list[str] | None = None

    def apply(self, work: DocWork) -> None:
        """Put the results on the coordinator's copy of the document."""
        assert work.extraction is not None
        for page, (lang, meta) in zip(work.pages, self.pages, strict=True):
            page.lang, page.meta = lang, meta
        work.extraction.metadata = self.metadata
        for outcome in self.outcomes:
            if outcome.status == "ok" and outcome.note is not None:
                work.notes[outcome.name] = outcome.note
        if self.analyses is not None:
            work.analyses = dict(zip((p.number for p in work.pages), self.analyses, strict=True))


_BUILT: dict[Recipe, Step] = {}  # this process's steps, by recipe
_BUILT_LOCK = threading.Lock()


def built(recipe: Recipe) -> Step:
    """The step for `recipe`, built once per process (a worker keeps its models loaded)."""
    with _BUILT_LOCK:
        step = _BUILT.get(recipe)
        if step is None:
            step = _BUILT[recipe] = recipe.build()
        return step


def steps_built() -> int:
    """How many steps this process built (on a worker: `client.run(steps_built)`; tests read it)."""
    return len(_BUILT)


# A short page in each language the models are for: enough to make each step load what it uses.
_WARM_UP_PAGES = (
    "The Ministry of Defence wrote to Mr John Smith in London on 3 March 2021.",
    "国防部于二〇二一年三月三日致函北京的张伟先生。",
)


def warm_up(recipes: tuple[Recipe, ...]) -> int:
    """Run the portable steps once on a small English and Chinese document in this process (on a
    cluster worker, `ClusterOcrEngine.warm_workers`), so that their models (and the index's
    Chinese analysis) are loaded before an ingest's documents wait for them; returns the steps
    this process has built."""
    pages = [PageResult(n, text) for n, text in enumerate(_WARM_UP_PAGES, 1)]
    source = Source(Path("warm-up.txt"), "warm-up.txt", "text/plain", b"")
    analyse_document(recipes, source, "text", pages, {})
    return steps_built()


def analyse_document(
    recipes: tuple[Recipe, ...], source: Source, kind: str, pages: list[PageResult], metadata: dict[str, Any]
) -> Analysed:
    """Run the portable steps on a document's pages, one after another, as the ingest would; a
    top-level function, run on a cluster worker (archive/cluster.py)."""
    from .steps import DocWork

    extraction = Extraction(kind=kind, title="", pages=pages, metadata=metadata)
    work = DocWork(0, source, ExtractContext(workdir=Path(tempfile.gettempdir())), extraction=extraction)
    from .indexing import page_analysis

    outcomes = [run_step(built(recipe), work) for recipe in recipes]
    analyses = [page_analysis(p.text, p.meta.get("translation"), p.meta.get("gloss")) for p in pages]
    return Analysed([(p.lang, p.meta) for p in pages], extraction.metadata, outcomes, analyses)

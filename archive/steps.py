"""The ingest's steps and what passes between them: the `StepContext` a step gets of the archive,
the `DocWork` record a document travels in, the `Step` contract, and the built-in steps that come
first (extract, OCR, language). The order of all steps is `pipeline.build_steps`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .extractors import ExtractContext, choose
from .language import detect_language
from .models import Extraction, PageResult, Source, StageError, Word
from .script import CJK_TEXT

if TYPE_CHECKING:
    from .cluster import ClusterBatch
    from .indexing import Indexer
    from .pipeline import IngestReport
    from .store import Store
    from ocr import TesseractEngine
    from ocr.tesseract import OcrBatch

log = logging.getLogger(__name__)


@dataclass
class StepContext:
    """What the steps of an ingest use, and nothing else of the archive: its store and folder,
    its settings, the OCR engine (started on first use) and the search indexer."""

    store: Store
    root: Path
    config: dict[str, Any]
    indexer: Indexer
    ocr_languages: tuple[str, ...] | None
    start_ocr: Callable[[], TesseractEngine]

    def ocr_engine(self) -> TesseractEngine:
        return self.start_ocr()

    def store_analysis(self, doc_id: int) -> int:
        return self.indexer.store_analysis(doc_id)

    def index_document(self, doc_id: int) -> bool:
        return self.indexer.index_document(doc_id)

    def catch_up_index(self, report: IngestReport | None = None) -> int:
        return self.indexer.catch_up(report)


@dataclass
class StartedOcr:
    """What `OcrStep.start` hands to `OcrStep.run`: the pages sent to OCR, the resolution each
    was rendered at (None: an image file read at its own), and the engine's batch reading them."""

    pages: list[PageResult]
    dpis: list[float | None]
    batch: OcrBatch | ClusterBatch
    images: list[bytes | str] = field(default_factory=list)  # as rendered, handed on in `DocWork.rendered`


@dataclass
class DocWork:
    """One document on its way through the steps. The steps fill in `extraction` and then change
    its pages in place (OCR text and boxes, language, glosses, translations, entities in
    `meta`), one step after another."""

    doc_id: int
    source: Source
    ctx: ExtractContext
    extraction: Extraction | None = None
    pending: dict[str, StartedOcr] = field(default_factory=dict)  # by step: work started, `run` finishes it
    notes: dict[str, str] = field(default_factory=dict)  # a step's note on its `ok` (e.g. a cap hit)
    # The page images OCR read (encoded bytes, or an image file's path), by page number: the
    # redaction step reads them instead of rendering again, then drops them.
    rendered: dict[int, bytes | str] = field(default_factory=dict)
    # The pages' search analyses made on a cluster worker, by page number (archive/portable.py):
    # kept when the pages are stored, instead of being made by the coordinator.
    analyses: dict[int, str] = field(default_factory=dict)

    @property
    def pages(self) -> list[PageResult]:
        return self.extraction.pages if self.extraction else []


class Step(Protocol):
    name: str

    def needed(self, work: DocWork) -> bool:
        """False when the step has nothing to do for this document (it is then marked skipped)."""

    def run(self, work: DocWork) -> None:
        """Do the work; raise StageError for a failure that belongs to this document."""


@dataclass(frozen=True)
class StepRecipe:
    """A step made with no arguments (language, glosses)."""

    step: type

    def build(self) -> Step:
        step: Step = self.step()
        return step


class ExtractStep:
    """`cluster`: the cluster engine when the ingest runs on one (else None); a PDF is then read
    on a worker (its pdfminer pass is the coordinator's largest cost on a scan), by the same
    extractor, which gives the same pages."""

    name = "extract"

    def __init__(self, cluster: Callable[[], Any] | None = None):
        self.cluster = cluster

    def needed(self, work: DocWork) -> bool:
        return True

    def run(self, work: DocWork) -> None:
        extractor = choose(work.source)
        if extractor is None:
            raise StageError("extract", f"unsupported file type {work.source.mime}")
        engine = self.cluster() if self.cluster is not None and extractor.name == "pdf" else None
        if engine is not None:
            work.extraction = engine.extract_remotely(extractor, work.source, work.ctx.passwords)
        else:
            work.extraction = extractor.extract(work.source, work.ctx)


class OcrStep:
    """OCR only the pages without a usable text layer.

    `start` renders the pages and hands them to the OCR pool without waiting, so the ingester can
    start the next document's OCR while this one finishes; `run` collects the results.
    """

    name = "ocr"

    def __init__(self, ctx: StepContext):
        self.archive = ctx

    def needed(self, work: DocWork) -> bool:
        return any(p.needs_ocr for p in work.pages)

    def start(self, work: DocWork) -> None:
        from ocr import OCR_FORMAT, OcrError, render_pdf_page

        todo = [p for p in work.pages if p.needs_ocr]
        images: list[Any] = []
        dpis: list[float | None] = []
        engine = self.archive.ocr_engine()
        # A cluster engine (archive/cluster.py) renders PDF pages on its workers, where they are read.
        render_remotely = getattr(engine, "render_remotely", None)
        for page in todo:
            req = page.needs_ocr
            assert req is not None
            try:
                if req.kind == "pdf" and render_remotely is not None:
                    images.append(render_remotely(req.path, req.index, req.password, page.number))
                    dpis.append(None)  # known once rendered: taken from the page in `run`
                elif req.kind == "pdf":
                    rendered = render_pdf_page(
                        str(req.path), req.index, password=req.password, image_format=OCR_FORMAT
                    )
                    images.append(rendered.data)
                    dpis.append(rendered.dpi)
                else:
                    images.append(_image_frame(req.path, req.index))
                    dpis.append(None)
            except Exception as exc:  # a page that cannot be rendered fails this document only
                raise StageError("ocr", f"page {page.number} could not be rendered: {exc}") from exc
        try:
            batch = engine.submit(images, languages=self.archive.ocr_languages)
        except OcrError as exc:
            raise StageError("ocr", str(exc)) from exc
        work.pending[self.name] = StartedOcr(todo, dpis, batch, images)

    def run(self, work: DocWork) -> None:
        from ocr import OcrError

        if self.name not in work.pending:
            self.start(work)
        started = work.pending.pop(self.name)
        try:
            results = started.batch.results()
        except OcrError as exc:
            raise StageError("ocr", str(exc)) from exc
        for index, (page, result, dpi) in enumerate(zip(started.pages, results, started.dpis, strict=True)):
            if index < len(started.images):
                work.rendered[page.number] = started.images[index]
                dpi = getattr(started.images[index], "dpi", dpi)  # a page rendered on a cluster: known now
            page.text = result.text
            page.ocr = True
            page.confidence = round(result.confidence, 2)
            page.words = list(map(Word._make, result.words))  # the same fields, in the same order
            page.width, page.height, page.dpi = result.width, result.height, dpi
            page.meta["ocr"] = {
                "languages": result.languages,
                "rotation": result.rotation,
                "skew": round(result.skew, 2),
                "engine": result.engine,
            }
            page.needs_ocr = None


def _image_frame(path: Path, index: int) -> bytes | str:
    """A file path for single-frame images (no re-encoding); frame `index` of a multi-page TIFF
    as an image file in Tesseract's hand-over format, with the frame's resolution."""
    from PIL import Image

    from ocr import OCR_FORMAT, encode_image, usable_dpi

    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) == 1 and im.format in {"PNG", "JPEG", "TIFF", "BMP"}:
            return str(path)
        im.seek(index)
        # A copy: saved as it stands, a TIFF frame would carry its own resolution tags over.
        frame = im.convert("L") if im.mode not in {"1", "L", "RGB"} else im.copy()
        return encode_image(frame, OCR_FORMAT, usable_dpi(im.info.get("dpi")))


class LanguageStep:
    """Language per page; only pages whose language is unknown."""

    name = "language"

    def needed(self, work: DocWork) -> bool:
        return any(p.lang is None for p in work.pages)

    def recipe(self) -> StepRecipe:
        """What a cluster worker builds this step from (archive/portable.py)."""
        return StepRecipe(LanguageStep)

    def run(self, work: DocWork) -> None:
        # Detection costs about 10 µs a character (n-grams made in Python) and a few ms a call:
        # past the first LANGUAGE_FULL_CHARS of a document, a page's language is told from a
        # sample of it, and past LANGUAGE_MAX_SAMPLES samples a page without CJK characters takes
        # the language of the page before it (pages with CJK are still told, cheaply, by script).
        read = sampled = inherited = 0
        previous: str | None = None
        for page in work.pages:
            if page.lang is None:
                text = page.text
                if read >= LANGUAGE_FULL_CHARS and len(text) > LANGUAGE_SAMPLE_CHARS:
                    text = _language_sample(text)
                    if (
                        sampled >= LANGUAGE_MAX_SAMPLES
                        and previous
                        and not previous.startswith(("zh", "ja", "ko"))
                        and CJK_TEXT.search(text) is None
                    ):
                        page.lang = previous
                        inherited += 1
                        continue
                    sampled += 1
                page.lang = detect_language(text)
                read += len(page.text)
            if page.lang != "und":
                previous = page.lang
        if sampled or inherited:
            note = f"language of {sampled} of {len(work.pages)} pages told from {LANGUAGE_SAMPLE_CHARS} characters of each"
            if inherited:
                note += f", of {inherited} taken from the page before"
            work.notes[self.name] = f"{note} (a document of over {LANGUAGE_FULL_CHARS} characters)"


LANGUAGE_FULL_CHARS = 200_000
LANGUAGE_SAMPLE_CHARS = 900
LANGUAGE_MAX_SAMPLES = 300


def _language_sample(text: str) -> str:
    """The start, middle and end of a page, LANGUAGE_SAMPLE_CHARS in all."""
    part = LANGUAGE_SAMPLE_CHARS // 3
    middle = len(text) // 2
    return "\n".join((text[:part], text[middle - part // 2 : middle + part // 2], text[-part:]))

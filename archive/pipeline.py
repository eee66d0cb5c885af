"""The ingest pipeline: an ordered list of steps, each able to skip itself.

    store original -> extract -> ocr -> language -> translate -> entities -> persist -> index

A step that fails records its stage and reason on the document; extraction failures end that
document's chain, later enrichment failures do not stop it being stored and indexed. The batch
always goes on.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .entities import EntityStep
from .extractors import ExtractContext, make_source
from .gloss import GlossStep
from .inputs import InputFile, Skipped, display_name, raw_name_hex, select_files
from .language import summarize_languages
from .limits import DEFAULT_DEPTH, TreeBudget, TreeLimits
from .models import public_reason
from .portable import StepOutcome, run_step
from .printed_mail import PrintedMailStep
from .redactions.step import RedactionStep
from .steps import DocWork, ExtractStep, LanguageStep, OcrStep, Step, StepContext
from .translate import TranslateStep

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

MAX_DEPTH = DEFAULT_DEPTH  # containers inside containers (FOI_TREE_MAX_DEPTH, see limits.py)
LOOKAHEAD_FILES = 8  # files begun (OCR started) before the oldest is finished (with 3 the
# pool ran dry for about a second while the first document's entities loaded spaCy and CC-CEDICT)
LOOKAHEAD_PAGES = 48  # ... as long as they hold no more rendered pages than this


@dataclass
class IngestReport:
    ingested: int = 0
    duplicates: int = 0
    resumed: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # by stage
    failures: list[dict[str, Any]] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)
    index_pending: int = 0
    index_error: str | None = None  # why documents wait for the search index, when they do
    skipped: list[dict[str, Any]] = field(default_factory=list)  # entries not read: path, stage, reason
    recovered: int = 0  # documents left `processing` by a run that is gone, read again

    def as_dict(self) -> dict[str, Any]:
        return {
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "resumed": self.resumed,
            "failed": sum(self.failed.values()),
            "failed_by_stage": dict(self.failed),
            "failures": self.failures,
            "documents": self.documents,
            "index_pending": self.index_pending,
            "index_error": self.index_error,
            "skipped": self.skipped,
            "recovered": self.recovered,
        }


def _entries(items: list[Path | InputFile | Skipped], follow_symlinks: bool) -> Iterator[InputFile | Skipped]:
    """Selected entries as they are; paths walked, links allowed to point inside any of them."""
    plain = [Path(p) for p in items if not isinstance(p, InputFile | Skipped)]
    roots = [p.resolve() for p in plain if p.exists()]
    for item in items:
        if isinstance(item, InputFile | Skipped):
            yield item
        else:
            yield from select_files([Path(item)], follow_symlinks, roots)


def _with_raw_names(meta: dict[str, Any] | None, name: str, source_path: str | None) -> dict[str, Any]:
    """A document's metadata with the exact bytes of its name (and of its source path) when they
    are not UTF-8: `raw_name`, `raw_source_path` (hex; `bytes.fromhex` gives them back)."""
    out = dict(meta or {})
    raw = raw_name_hex(name)
    if raw is not None:
        out["raw_name"] = raw
    raw_path = raw_name_hex(source_path) if source_path is not None else None
    if raw_path is not None:
        out["raw_source_path"] = raw_path
    return out


def _busy(shown: Path, doc_id: int) -> dict[str, Any]:
    return {
        "path": display_name(str(shown)),
        "document": doc_id,
        "stage": "select",
        "reason": "being ingested by another run (left to it)",
    }


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Started:
    """A document whose steps ran up to an asynchronous one (OCR), waiting to be finished."""

    work: DocWork
    workdir: Path
    errors: list[tuple[str, str]]
    child_meta: dict[str, Any]
    filename: str
    depth: int
    next_step: int
    owns_budget: bool = True  # a top-level file (or one recovered alone): its tree's budget is its own

    @property
    def ocr_pages(self) -> int:
        """Rendered pages this document holds while its OCR runs."""
        started = self.work.pending.get(OcrStep.name)
        return len(started.pages) if started else 0

    def ready(self) -> bool:
        """Whether finishing it now would not wait (its OCR, if any, is done)."""
        started = self.work.pending.get(OcrStep.name)
        return started is None or started.batch.done()

    def waiting_on(self) -> list[Future[Any]]:
        started = self.work.pending.get(OcrStep.name)
        return started.batch.running() if started else []

    def waits_on_all(self) -> bool:
        """Whether `waiting_on` lists every future its OCR will end with: a cluster's batch makes
        them all up front; the local pool's later pages join once the first page is read."""
        started = self.work.pending.get(OcrStep.name)
        return started is None or bool(getattr(started.batch, "futures_known", False))


class Ingester:
    """Runs files through the steps and stores the results."""

    def __init__(self, ctx: StepContext, steps: list[Step], passwords: tuple[str, ...] = ()):
        self.archive = ctx
        self.store = ctx.store
        self.passwords = passwords
        self.steps = steps
        self.limits = TreeLimits.from_settings(ctx.config.get("tree_limits"))
        self._tmp: Path | None = None

    def _scratch_root(self) -> Path:
        """This run's folder for scratch files, under the archive folder (never the system temp
        dir). Folders of earlier runs whose process is gone (killed) are removed first."""
        if self._tmp is None or not self._tmp.is_dir():
            base = Path(self.archive.root) / "tmp"
            base.mkdir(parents=True, exist_ok=True)
            for old in base.glob("run-*"):
                try:
                    pid = int(old.name.split("-")[1])
                except (IndexError, ValueError):
                    continue
                if pid != os.getpid() and not _pid_alive(pid):
                    shutil.rmtree(old, ignore_errors=True)
            self._tmp = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base))
        return self._tmp

    def _same_as_ancestor(self, digest: str, parent_id: int | None) -> bool:
        """True when a container holds a copy of itself or of one of its ancestors (a zip that
        contains itself): reading it again would recurse until the depth limit."""
        seen = 0
        while parent_id is not None and seen <= MAX_DEPTH + 1:
            parent = self.store.document(parent_id)
            if parent is None:
                return False
            if parent["sha256"] == digest:
                return True
            parent_id = parent["parent_id"]
            seen += 1
        return False

    def ingest_paths(
        self,
        paths: Iterable[Path | InputFile | Skipped],
        collection: str,
        progress: Callable[[Path], None] | None = None,
        follow_symlinks: bool = False,
    ) -> IngestReport:
        """Ingest paths (files, and folders walked by `select_files`) or the entries a caller
        selected already (`InputFile`, `Skipped`, as the CLI does to size its progress bar)."""
        self.store.start_run()
        try:
            return self._ingest_paths(_entries(list(paths), follow_symlinks), collection, progress)
        finally:
            self.store.end_run()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def _ingest_paths(
        self,
        entries: Iterable[InputFile | Skipped],
        collection: str,
        progress: Callable[[Path], None] | None = None,
    ) -> IngestReport:
        report = IngestReport()
        self.store.ensure_collection(collection)
        # Lookahead: the next files' OCR is started before this one is finished, so that a
        # document's first page (which chooses its languages, alone) or a run of single-page
        # scans doesn't leave cores idle. Bounded in files and in rendered pages held in memory.
        pending: deque[tuple[Path, _Started, int]] = deque()
        finished: dict[int, list[int]] = {}  # documents stored, by the position their file was begun

        def finish_next() -> None:
            """Finish the oldest document whose OCR is done (waiting for one if none is): a long
            scan doesn't hold back the documents begun after it (they are stored sooner, and
            their steps run while its pages are read, not all at the end)."""
            while True:
                ready = next((k for k, (_, s, _) in enumerate(pending) if s.ready()), None)
                if ready is not None:
                    break
                running = [f for _, s, _ in pending for f in s.waiting_on()]
                if running:
                    # Short: later pages handed to the pool after this list was made are not in it
                    # (on a cluster they all are: polling 20 times a second cost its coordinator
                    # several ms of CPU a page).
                    every = all(s.waits_on_all() for _, s, _ in pending)
                    wait(running, timeout=1.0 if every else 0.05, return_when=FIRST_COMPLETED)
                else:
                    time.sleep(0.005)  # a document's later pages are being handed to the pool
            path, started, position = pending[ready]
            del pending[ready]
            mark = len(report.documents)
            self.finish_file(started, collection, report)
            # The report lists documents in the order their files were begun, whatever order
            # they were finished in (a document and the members stored with it together).
            finished[position] = report.documents[mark:]
            del report.documents[mark:]
            if progress:
                progress(path)

        for position, entry in enumerate(entries):
            if isinstance(entry, Skipped):
                report.skipped.append(entry.as_dict())
                continue
            started = self.begin_file(entry.path, collection, report, shown=entry.shown)
            if isinstance(started, _Started):
                pending.append((entry.shown, started, position))
            elif progress:
                progress(entry.shown)
            while len(pending) > LOOKAHEAD_FILES or (
                len(pending) > 1 and sum(s.ocr_pages for _, s, _ in pending) > LOOKAHEAD_PAGES
            ):
                finish_next()
        while pending:
            finish_next()
        report.documents[:0] = [doc for position in sorted(finished) for doc in finished[position]]
        # Documents an ingest that is gone left `processing` (killed, crashed), whatever files
        # this one was given.
        self._recover(report)
        if report.documents:
            from .threads import assign_threads

            try:
                assign_threads(self.archive)  # e-mail threads span files and batches
            except Exception:  # threading is an extra; never lose an ingest to it
                log.warning("e-mail threading failed", exc_info=True)
        self.archive.catch_up_index(report)
        return report

    def ingest_file(
        self,
        path: Path,
        collection: str,
        report: IngestReport,
        parent_id: int | None = None,
        name: str | None = None,
        depth: int = 0,
        child_meta: dict[str, Any] | None = None,
        shown: Path | None = None,
        budget: TreeBudget | None = None,
    ) -> int | None:
        """Ingest one file completely (its children too); returns its document id."""
        started = self.begin_file(path, collection, report, parent_id, name, depth, child_meta, shown, budget)
        if isinstance(started, _Started):
            return self.finish_file(started, collection, report)
        return started

    def begin_file(
        self,
        path: Path,
        collection: str,
        report: IngestReport,
        parent_id: int | None = None,
        name: str | None = None,
        depth: int = 0,
        child_meta: dict[str, Any] | None = None,
        shown: Path | None = None,
        budget: TreeBudget | None = None,
    ) -> _Started | int | None:
        """Store the original, create (or resume) the document and run the steps up to the start of
        OCR. Returns the work to finish, or the id of a document already complete, or None.
        `shown`: where a top-level file was found, when `path` (what is read) is a link's target.
        `budget`: the tree's, for a member; a file without one starts a tree of its own."""
        store = self.store
        shown = shown or path
        raw_name = name or shown.name
        # Names are stored as text: bytes that are not UTF-8 are shown escaped, and kept exactly
        # (in hex) in the metadata.
        filename = display_name(raw_name)
        child_meta = _with_raw_names(child_meta, raw_name, None if parent_id else str(shown))
        if name is not None:
            name = display_name(name)
        owns_budget = budget is None
        budget = budget or TreeBudget(self.limits)
        try:
            digest, size = store.put_original(path)
        except OSError as exc:
            report.failed["store"] += 1
            report.failures.append(
                {"path": display_name(str(shown)), "stage": "store", "reason": display_name(str(exc))}
            )
            return None
        if parent_id is not None and self._same_as_ancestor(digest, parent_id):
            existing = store.find_document(collection, digest, parent_id, name)
            if existing is not None:
                return int(existing["id"])
            reason = "same content as a containing document (an archive that contains itself): not read"
            doc_id = store.create_document(
                collection=collection,
                parent_id=parent_id,
                path_in_parent=name,
                sha256=digest,
                filename=filename,
                source_path=None,
                mime=make_source(store.blob_path(digest), filename).mime,
                size=size,
                status="failed",
                error_stage="extract",
                error_reason=reason,
                metadata=child_meta or {},
            )
            store.set_stage(doc_id, "store", "ok")
            store.set_stage(doc_id, "extract", "failed", reason)
            report.failed["extract"] += 1
            report.failures.append(
                {"document": doc_id, "path": filename, "stage": "extract", "reason": reason}
            )
            return doc_id
        existing = store.find_document(collection, digest, parent_id, name if parent_id else None)
        if existing is not None and existing["status"] in {"done", "failed"}:
            report.duplicates += 1
            return int(existing["id"])
        if existing is not None and existing["run"] == store.run:
            report.duplicates += 1  # the same file again in this batch (it is on its way)
            return int(existing["id"])
        source = make_source(store.blob_path(digest), filename)
        if existing is not None:
            doc_id = int(existing["id"])
            # Left by a run that is gone: taken over. Never a live run's (another ingest's).
            if store.run_alive(existing["run"]) or not store.claim(doc_id, existing["run"]):
                report.skipped.append(_busy(shown, doc_id))
                return doc_id
            report.resumed += 1
        else:
            try:
                doc_id = store.create_document(
                    collection=collection,
                    parent_id=parent_id,
                    path_in_parent=name if parent_id else None,
                    sha256=digest,
                    filename=filename,
                    source_path=display_name(str(shown)) if parent_id is None else None,
                    mime=source.mime,
                    size=size,
                    status="processing",
                    metadata=child_meta or {},
                    run=store.run,
                )
            except sqlite3.IntegrityError:  # another ingest created it a moment ago
                again = store.find_document(collection, digest, parent_id, name if parent_id else None)
                if again is None:
                    raise
                report.skipped.append(_busy(shown, int(again["id"])))
                return int(again["id"])
        store.set_stage(doc_id, "store", "ok")
        budget.documents += 1
        workdir = Path(tempfile.mkdtemp(prefix="doc-", dir=self._scratch_root()))
        ctx = ExtractContext(
            workdir=workdir,
            passwords=self.passwords,
            depth=depth,
            budget=budget,
            origin=shown if parent_id is None else None,
        )
        work = DocWork(doc_id, source, ctx)
        started = _Started(work, workdir, [], child_meta or {}, filename, depth, 0, owns_budget)
        try:
            started.next_step = self._run_steps(work, started.errors, 0, stop_at_async=True)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return started

    def finish_file(self, started: _Started, collection: str, report: IngestReport) -> int:
        work, errors = started.work, started.errors
        try:
            self._run_steps(work, errors, started.next_step, stop_at_async=False)
            # A container stays `processing` until all its members are in: an ingest killed
            # between two members resumes the container, and members already stored count as
            # duplicates, so none is lost and none is doubled.
            has_children = bool(work.extraction and work.extraction.children)
            final_status = "failed" if errors else "done"
            self._persist(work, errors, started.child_meta, status="processing" if has_children else None)
            report.documents.append(work.doc_id)
            if errors:
                stage, reason = errors[0]
                report.failed[stage] += 1
                report.failures.append(
                    {"document": work.doc_id, "path": started.filename, "stage": stage, "reason": reason}
                )
            else:
                report.ingested += 1
            cut = self._ingest_children(work, collection, report, started.depth)
            if cut is None and work.extraction is not None:
                cut = work.extraction.metadata.get("limits")  # members the extractor left unread
            if cut is not None:
                self._mark_cut(started, cut, report)
            elif has_children:
                self.store.update_document(work.doc_id, status=final_status)
            budget = work.ctx.budget
            if started.owns_budget and budget is not None and budget.cuts and cut is None:
                self._note_cuts(work.doc_id, budget)
        finally:
            shutil.rmtree(started.workdir, ignore_errors=True)
        return work.doc_id

    def _run_steps(
        self, work: DocWork, errors: list[tuple[str, str]], first: int, stop_at_async: bool
    ) -> int:
        """Run steps from index `first`; with `stop_at_async`, stop after starting a step that has
        a `start` (OCR) and return its index so that `run` collects it later. On a cluster, a run
        of portable steps (archive/portable.py) is one task on a worker."""
        index = first
        while index < len(self.steps):
            step = self.steps[index]
            if work.extraction is None and step.name != "extract":
                self.store.set_stage(work.doc_id, step.name, "skipped", "nothing extracted")
                index += 1
                continue
            group = self._portable_run(index) if self._remote() is not None else []
            outcomes = self._analyse_remotely(work, group) if group else [run_step(step, work, stop_at_async)]
            for outcome in outcomes:
                if outcome.status == "started":
                    return index
                if outcome.status == "failed":
                    errors.append((outcome.stage or outcome.name, outcome.note or ""))
                self.store.set_stage(work.doc_id, outcome.name, outcome.status, outcome.note)
            index += len(outcomes)
            if step.name == "extract" and work.extraction is None:
                return len(self.steps)
        return len(self.steps)

    def _remote(self) -> Any:
        """The cluster engine that runs portable steps, when the ingest runs on a cluster."""
        return cluster_engine(self.archive)

    def _portable_run(self, index: int) -> list[Step]:
        """The portable steps in a row from `index` (none when that step is not one)."""
        run: list[Step] = []
        for step in self.steps[index:]:
            if getattr(step, "recipe", None) is None or step.recipe() is None:  # type: ignore[attr-defined]
                break  # (translation is portable only when it has no model to run)
            run.append(step)
        return run

    def _analyse_remotely(self, work: DocWork, steps: list[Step]) -> list[StepOutcome]:
        """Run portable steps as one task on a cluster worker and put their results on `work`;
        a task the cluster could not run (a worker killed on it too often) fails the document."""
        from .portable import analyse_document

        assert work.extraction is not None
        ex = work.extraction
        recipes = tuple(step.recipe() for step in steps)  # type: ignore[attr-defined]
        try:
            analysed = self._remote().run_task(
                analyse_document, recipes, work.source, ex.kind, ex.pages, ex.metadata
            )
        except Exception as exc:
            reason = public_reason(f"{type(exc).__name__}: {exc}", work.source)
            return [StepOutcome(step.name, "failed", reason, step.name) for step in steps]
        analysed.apply(work)
        return list(analysed.outcomes)

    def _persist(
        self,
        work: DocWork,
        errors: list[tuple[str, str]],
        child_meta: dict[str, Any],
        status: str | None = None,
    ) -> None:
        store = self.store
        ex = work.extraction
        fields: dict[str, Any] = {"status": status or ("failed" if errors else "done")}
        if errors:
            fields["error_stage"], fields["error_reason"] = errors[0]
        if ex is not None:
            metadata = {**child_meta, **ex.metadata}
            if ex.rendition is not None:
                # The PDF its pages were read from (an office file's): its page images come from it.
                metadata["rendition"] = {"pdf": store.put_original(ex.rendition)[0]}
            if ex.warnings:
                metadata["warnings"] = ex.warnings
            fields.update(
                kind=ex.kind,
                title=ex.title[:500],
                lang=summarize_languages([p.lang or "und" for p in ex.pages]),
                page_count=len(ex.pages),
                metadata=metadata,
                date=metadata.get("date"),
                index_pending=1,
            )
        with store.transaction():
            if ex is not None:
                ids = store.replace_pages(work.doc_id, ex.pages)
                if work.analyses:  # made on a cluster worker: kept as they are, if the texts are too
                    made = ((work.analyses.get(p.number), i) for p, i in zip(ex.pages, ids, strict=True))
                    store.set_page_analyses([(a, i) for a, i in made if a is not None])
                # The search analysis (jieba for Chinese) is made once, here (unless a worker made
                # it from the same texts); indexing and any later reindex read it.
                self.archive.store_analysis(work.doc_id)
            store.update_document(work.doc_id, **fields)
        if ex is not None:
            self.archive.index_document(work.doc_id)

    def _ingest_children(
        self, work: DocWork, collection: str, report: IngestReport, depth: int
    ) -> str | None:
        """Ingest a container's members while its tree's budget lasts; returns why members were
        left unread (a limit), or None when all were read."""
        if work.extraction is None or not work.extraction.children:
            return None
        children = work.extraction.children
        budget = work.ctx.budget or TreeBudget(self.limits)
        if depth + 1 > budget.limits.depth:
            return (
                f"nesting deeper than {budget.limits.depth} containers (FOI_TREE_MAX_DEPTH): "
                f"{len(children)} members not read"
            )
        budget.bytes += sum(_file_size(c.path) for c in children)  # written for this tree
        seen: Counter[str] = Counter()
        for done, child in enumerate(children):
            limit = budget.exhausted()
            if limit is not None:
                return f"{limit}: {len(children) - done} of {len(children)} members not read"
            # Two members with the same name (or path) keep distinct identities.
            seen[child.name] += 1
            name = child.name if seen[child.name] == 1 else f"{child.name}#{seen[child.name]}"
            self.ingest_file(
                child.path, collection, report, work.doc_id, name, depth + 1, child.meta, budget=budget
            )
        return None

    def _mark_cut(self, started: _Started, reason: str, report: IngestReport) -> None:
        """A container whose members a limit left unread: failed at `extract`, with the reason on
        the document (`error_reason`, `metadata.limits`) and in the report."""
        doc_id = started.work.doc_id
        doc = self.store.document(doc_id)
        metadata = dict(doc["metadata"]) if doc else {}
        metadata["limits"] = reason
        with self.store.transaction():
            if started.errors:  # failed already: its first error stays the one reported
                self.store.update_document(doc_id, status="failed", metadata=metadata)
            else:
                self.store.update_document(
                    doc_id, status="failed", error_stage="extract", error_reason=reason, metadata=metadata
                )
                self.store.set_stage(doc_id, "extract", "failed", reason)
        if not started.errors:
            report.ingested -= 1
            report.failed["extract"] += 1
            report.failures.append(
                {"document": doc_id, "path": started.filename, "stage": "extract", "reason": reason}
            )
        budget = started.work.ctx.budget
        if budget is not None:
            budget.cuts.append(doc_id)

    def _note_cuts(self, doc_id: int, budget: TreeBudget) -> None:
        """The top-level document of a tree a limit cut says so (`metadata.limits`), with the
        members that were cut (`metadata.limits_cut`), though its own content is all read."""
        doc = self.store.document(doc_id)
        if doc is None:
            return
        metadata = dict(doc["metadata"])
        metadata["limits"] = f"members inside were left unread by a limit: see documents {budget.cuts[:20]}"
        metadata["limits_cut"] = budget.cuts[:1000]
        self.store.update_document(doc_id, metadata=metadata)

    def recover(self) -> IngestReport:
        """Finish the documents that ingests which are gone left `processing` (`foi recover`)."""
        report = IngestReport()
        self.store.start_run()
        try:
            self._recover(report)
            self.archive.catch_up_index(report)
        finally:
            self.store.end_run()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
        return report

    def _recover(self, report: IngestReport) -> None:
        """Run the documents left `processing` by dead runs again from their stored originals: a
        whole tree from its top-level document when that was left too (its members are resumed
        or found stored as it is read again), else the document on its own, in its place."""
        store = self.store
        done: set[int] = set()
        rows = store.stuck_documents()
        stuck = {int(r["id"]) for r in rows}
        for row in rows:
            doc = store.document(int(row["id"]))
            if doc is None or doc["status"] not in {"processing", "pending"} or doc["id"] in done:
                continue
            # The topmost ancestor also left by a dead run: reading it again reads this one too.
            chain = [doc]
            while chain[-1]["parent_id"] is not None:
                parent = store.document(int(chain[-1]["parent_id"]))
                if parent is None:
                    break
                chain.append(parent)
            target = next((d for d in reversed(chain) if d["id"] in stuck), doc)
            if target["id"] in done:
                continue
            done.add(target["id"])
            self._recover_one(target, len(chain) - 1 - chain.index(target), report)
            report.recovered += 1

    def _recover_one(self, doc: dict[str, Any], depth: int, report: IngestReport) -> None:
        blob = self.store.blob_path(doc["sha256"])
        meta = {k: v for k, v in doc["metadata"].items() if k not in {"warnings", "limits", "limits_cut"}}
        shown = Path(doc["source_path"] or doc["filename"])
        if not blob.is_file():
            reason = "the stored original is missing: cannot be read again"
            with self.store.transaction():
                self.store.update_document(
                    doc["id"], status="failed", error_stage="store", error_reason=reason
                )
                self.store.set_stage(doc["id"], "store", "failed", reason)
            report.failed["store"] += 1
            report.failures.append(
                {"document": doc["id"], "path": doc["filename"], "stage": "store", "reason": reason}
            )
            return
        self.ingest_file(
            blob,
            doc["collection"],
            report,
            doc["parent_id"],
            doc["path_in_parent"] if doc["parent_id"] else None,
            depth,
            meta,
            shown=shown,
        )


def cluster_engine(ctx: StepContext) -> Any:
    """The cluster engine (archive/cluster.py) when the ingest runs on a cluster, else None."""
    from .cluster import cluster_address

    if cluster_address(ctx.config) is None:
        return None
    return ctx.ocr_engine()


def build_steps(ctx: StepContext) -> list[Step]:
    """The ingest pipeline, in order: every step, each deciding per document whether it is needed.
    Dictionary glosses come before translation (an English query finds a Chinese page through
    either), entities after both (they also read the translation and the gloss), printed e-mails
    last (their child messages go through the whole pipeline again)."""
    return [
        ExtractStep(functools.partial(cluster_engine, ctx)),
        OcrStep(ctx),
        RedactionStep(ctx),  # on the page images OCR rendered, before the text is read further
        LanguageStep(),
        GlossStep(ctx),
        TranslateStep(ctx, functools.partial(cluster_engine, ctx)),
        EntityStep(ctx),
        PrintedMailStep(ctx),
    ]


# Every stage a document's status rows can name, in pipeline order: storing the original, each
# step, indexing.
STAGES: tuple[str, ...] = (
    "store",
    *(
        step.name
        for step in (
            ExtractStep,
            OcrStep,
            RedactionStep,
            LanguageStep,
            GlossStep,
            TranslateStep,
            EntityStep,
            PrintedMailStep,
        )
    ),
    "index",
)

"""Ingest on a Dask cluster: the OCR of each page (its rendering included) runs on the cluster's
workers, the archive stays one writer.

With `FOI_CLUSTER=tcp://HOST:PORT` (or `foi ingest --cluster`), `Archive.ocr_engine()` is a
`ClusterOcrEngine`: the same `TesseractEngine` (page strategy, cache, batches) whose pool is the
cluster. It runs exactly the functions the local process pool runs, so both give the same
results. What changes is where a scanned PDF page is rendered: the document's original is
sent to the cluster once (by the coordinator, then copied by Dask to each worker that needs it), each page is
rendered on a worker and stays there for its OCR, and the coordinator receives only the page's
hash (to look up the OCR cache, so identical pages are read once across all workers) and then
the typed `OcrResult`. Nothing on a worker writes to the archive.

Faults: a worker that dies has its tasks run again elsewhere by Dask (the scheduler's
`allowed-failures`, 3 by default, bounds how often; past it the page fails its document with
`KilledWorker` and the batch goes on). A scheduler that is lost stops the ingest with
`ClusterLost`; the documents it held stay `processing` and the next `foi ingest` resumes them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import tempfile
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ocr import TesseractEngine

if TYPE_CHECKING:
    from distributed import Client

    from .models import Extraction, Source
    from .redactions import Box
    from ocr import OcrResult, RenderedPage

DaskFuture = Any  # distributed.Future: untyped, its methods called through Any

CONNECT_TIMEOUT = 20.0  # seconds to reach the scheduler when an ingest starts
RENDER_PRIORITY = 10  # renders jump the queue: the next document's pages are hashed while OCR runs
ANALYSIS_PRIORITY = 20  # a document's analysis before any page: the coordinator waits for it


class ClusterUnavailable(Exception):
    """The scheduler named by FOI_CLUSTER / --cluster cannot be reached."""


class ClusterLost(BaseException):  # noqa: N818 (like KeyboardInterrupt: the run stops, no step records it)
    """The connection to the scheduler is gone mid-ingest.

    A BaseException on purpose: steps record an `Exception` as the document's failure and go on,
    but a lost cluster is no fault of the document; the ingest stops, its documents stay
    `processing`, and the next `foi ingest` resumes them."""


def _lost(message: str) -> ClusterLost:
    """The error that stops the ingest. Dask's own tracebacks of its attempts to reconnect would
    follow it on the terminal and add nothing: they are silenced from here on."""
    _quiet_dask()
    return ClusterLost(message)


def _quiet_dask() -> None:
    for name in ("distributed", "distributed.client", "distributed.comm", "distributed.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def cluster_address(config: dict[str, Any]) -> str | None:
    """The scheduler to use: the archive's `cluster` setting, else FOI_CLUSTER; None: local pool."""
    address = config.get("cluster") or os.environ.get("FOI_CLUSTER", "")
    return str(address).strip() or None


def connect(address: str, timeout: float | None = None) -> Client:
    """A client of the scheduler at `address`; waits FOI_CLUSTER_TIMEOUT seconds (20) for it, and
    as long again for a lost connection to come back before the ingest stops."""
    from distributed import Client

    if timeout is None:
        timeout = float(os.environ.get("FOI_CLUSTER_TIMEOUT", "") or CONNECT_TIMEOUT)

    try:
        return Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


# -- on the workers ---------------------------------------------------------------------------
# Top-level functions, imported by the workers from this module (`foi worker` has it importable).

_ORIGINALS: OrderedDict[str, str] = OrderedDict()  # original's hash -> its file on this worker
_ORIGINALS_KEPT = 8
_ORIGINALS_LOCK = threading.Lock()


def _original_file(data: bytes) -> str:
    """The original as a file on this worker (pdfium reads files), written once per worker."""
    digest = hashlib.sha256(data).hexdigest()
    with _ORIGINALS_LOCK:
        path = _ORIGINALS.get(digest)
        if path is not None and os.path.exists(path):
            _ORIGINALS.move_to_end(digest)
            return path
        fd, path = tempfile.mkstemp(prefix="foi-original-", suffix=".pdf")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _ORIGINALS[digest] = path
        while len(_ORIGINALS) > _ORIGINALS_KEPT:
            _, old = _ORIGINALS.popitem(last=False)
            with contextlib.suppress(OSError):
                os.unlink(old)
    return path


def given_bytes(data: bytes) -> bytes:
    """An input the coordinator sends (see ClusterOcrEngine._send)."""
    return data


def render_page(original: bytes, index: int, password: str | None) -> RenderedPage:
    """Render page `index` of a PDF exactly as the local pipeline does (ocr.render_pdf_page)."""
    from ocr import OCR_FORMAT, render_pdf_page

    return render_pdf_page(_original_file(original), index, password=password, image_format=OCR_FORMAT)


@dataclasses.dataclass(frozen=True)
class HeldPage:
    """A page rendered on a worker and kept there (`render_held`): what the coordinator needs of
    it (its image's hash, the OCR cache's key, and dpi) and the worker that holds the image."""

    token: str
    digest: str
    dpi: float
    worker: str


_HELD: OrderedDict[str, RenderedPage] = OrderedDict()  # token -> a page image this worker rendered
# Images kept per worker thread (more than the pages in flight a thread gets, PAGES_PER_THREAD):
# past it, the oldest go (a page never read here: an OCR cache hit, a read run on another worker).
_HELD_PER_THREAD = 4
_HELD_LOCK = threading.Lock()
_RENDERS = [0]  # pages this worker process rendered (tests read it: `pages_rendered`)


def pages_rendered() -> int:
    """How many pages this worker process rendered (`client.run(pages_rendered)`)."""
    return _RENDERS[0]


def render_held(original: bytes, index: int, password: str | None, token: str) -> HeldPage:
    """Render a page and keep its image on this worker for its read, returning only its hash: one
    task and one small result a page, where a rendered image as a Dask result needed another
    task to hash it."""
    from distributed import get_worker

    rendered = render_page(original, index, password)
    worker = get_worker()
    with _HELD_LOCK:
        _RENDERS[0] += 1
        _HELD[token] = rendered
        while len(_HELD) > _HELD_PER_THREAD * max(worker.state.nthreads, 2):
            _HELD.popitem(last=False)
    return HeldPage(token, hashlib.sha256(rendered.data).hexdigest(), rendered.dpi, worker.address)


def _page_image(image: Any, source: tuple[bytes, int, str | None] | None) -> Any:
    """The page image a task reads: the bytes sent, or the image a worker rendered and holds; a
    page rendered on another worker (or dropped since) is rendered here again from its original
    (`source`: the original, the page's index and password), giving the same image."""
    if not isinstance(image, HeldPage):
        return image
    with _HELD_LOCK:
        rendered = _HELD.get(image.token)
    if rendered is None and source is not None:
        rendered = render_page(*source)
        with _HELD_LOCK:
            _RENDERS[0] += 1
            _HELD[image.token] = rendered
    if rendered is None:
        raise RuntimeError("the page's image is not on this worker and cannot be rendered again")
    return rendered


def _drop_image(image: Any) -> None:
    """Nothing reads this page image again."""
    if isinstance(image, HeldPage):
        with _HELD_LOCK:
            _HELD.pop(image.token, None)


def run_on_image(
    fn: Callable[..., Any], image: Any, source: tuple[bytes, int, str | None] | None, *args: Any
) -> Any:
    """Run `fn` on a page image held by this worker (see `_page_image`)."""
    page = _page_image(image, source)
    data = page.data if hasattr(page, "data") else page
    try:
        return fn(data, *args)
    finally:
        _drop_image(image)


def read_page(
    fn: Callable[..., OcrResult], image: Any, source: tuple[bytes, int, str | None] | None, *args: Any
) -> tuple[OcrResult, list[Box] | None]:
    """The engine's own page function on a page image held by this worker and, on the same image
    right after, the page's redaction boxes: what the redaction step would otherwise ask this
    worker for in a round trip a page. The boxes are found as that step finds them locally
    (`image_boxes` with the page's dpi and the skew OCR measured); None if that failed: the step
    then asks again and records the reason (the image is kept for it)."""
    from .redactions.step import image_boxes

    page = _page_image(image, source)
    data = page.data if hasattr(page, "data") else page
    result = fn(data, *args)
    try:
        boxes = image_boxes(data, getattr(page, "dpi", None), round(result.skew, 2))
    except Exception:
        boxes = None
    if boxes is not None:
        _drop_image(image)
    return result, boxes


def extract_pdf(extractor: Any, original: bytes, source: Source, passwords: tuple[str, ...]) -> Any:
    """A PDF's extraction by the coordinator's own extractor, on this worker's copy of the file:
    the `Extraction`, with the pages to OCR pointing at the coordinator's file again (they are
    rendered from the bytes it sent, see `ClusterOcrEngine.render_remotely`); a `StageError` comes
    back as `(stage, reason)` (it does not survive pickling)."""
    from .extractors import ExtractContext
    from .models import StageError

    here = Path(_original_file(original))
    ctx = ExtractContext(workdir=Path(tempfile.gettempdir()), passwords=passwords)  # a PDF writes nothing
    try:
        extraction = extractor.extract(dataclasses.replace(source, path=here), ctx)
    except StageError as exc:
        return exc.stage, exc.reason.replace(str(here), str(source.path))
    for page in extraction.pages:
        if page.needs_ocr is not None and page.needs_ocr.path == here:
            page.needs_ocr = dataclasses.replace(page.needs_ocr, path=source.path)
    return extraction


def dask_setup(worker: Any) -> None:
    """Dask preload hook (`foi worker` passes `--preload archive.cluster`): Tesseract single-threaded
    (one page per thread of the worker), scratch files in the worker's own folder, and the OCR
    code imported once per process, not on the first page."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    scratch = os.path.join(worker.local_directory, "foi-tmp")
    os.makedirs(scratch, exist_ok=True)
    os.environ["TMPDIR"] = scratch
    tempfile.tempdir = scratch
    import archive.extractors.pdf  # noqa: F401
    import archive.portable  # noqa: F401  (and the steps it runs: language, glosses, entities)
    import archive.redactions.image  # noqa: F401
    import ocr.tesseract  # noqa: F401


# -- on the coordinator -----------------------------------------------------------------------


class RemotePage:
    """A page image that lives on the cluster: rendered there (a PDF page, `source` saying from
    what) or sent (an image file). Nothing is sent until its batch lets it in (`ClusterBatch`: a
    bounded number of pages in flight); `digest`, `dpi` and `worker` are known once it is rendered."""

    def __init__(
        self,
        number: int,
        start: Callable[[], DaskFuture],
        digest: str = "",
        source: tuple[DaskFuture, int, str | None] | None = None,
    ):
        self.number = number
        self._start = start  # submits the page: the future of its image (sent) or of its `HeldPage`
        self.future: DaskFuture | None = None  # on the cluster, once started
        self.source = source  # (the original's future, index, password) of a page rendered there
        self.digest = digest
        self.dpi: float | None = None
        self.worker: str | None = None  # the worker holding the rendered image
        # Its redaction boxes, found by the worker that read it (`read_page`); None when the page
        # came from the OCR cache or shared another page's run: the redaction step asks then.
        self.boxes: list[Box] | None = None

    def begin(self) -> DaskFuture | None:
        """Send (or render) the page on the cluster; the future to wait on for its digest, if any."""
        self.future = self._start()
        return self.future if self.source is not None else None

    def rendered(self, held: HeldPage) -> None:
        self.digest, self.dpi, self.worker = held.digest, held.dpi, held.worker

    def placement(self) -> dict[str, Any]:
        """Where a task on the page's image runs best: on the worker holding it (elsewhere, if that
        one is gone or busy, it is rendered again)."""
        return {"workers": [self.worker], "allow_other_workers": True} if self.worker else {}


class ClusterExecutor(cf.Executor):
    """`concurrent.futures` over a Dask client, as the engine expects of its pool; page images on
    the cluster are passed to the task by reference (Dask runs it where the image is)."""

    def __init__(self, client: Client):
        self.client: Any = client

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        out: cf.Future[Any] = cf.Future()
        if self.client.status != "running":
            out.set_exception(_lost(f"the Dask scheduler is not connected ({self.client.status})"))
            return out
        page = args[0] if args and isinstance(args[0], RemotePage) else None
        if page is not None:  # the engine reading a page: its redaction boxes come back with it
            kwargs.update(page.placement())
            future = self.client.submit(
                read_page, fn, page.future, page.source, *args[1:], pure=False, **kwargs
            )
        else:
            future = self.client.submit(fn, *args, pure=False, **kwargs)
        future.add_done_callback(lambda done: _settle(done, out, page))
        return out

    def submit_on_page(self, fn: Callable[..., Any], page: RemotePage, *args: Any) -> cf.Future[Any]:
        """`fn(image bytes, *args)` on the worker holding the page's image."""
        return self.submit(run_on_image, fn, page.future, page.source, *args, **page.placement())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


def _settle(done: DaskFuture, out: cf.Future[Any], page: RemotePage | None = None) -> None:
    """Pass a Dask future's outcome on (a task's error is the page's: its document fails with it);
    a page read hands its boxes to the page and its OCR result on."""
    try:
        if done.status == "finished" and page is not None:
            result, page.boxes = done.result()
            if page.boxes is not None:
                page.future = page.source = None  # nothing reads the image again: the worker may drop it
            out.set_result(result)
        elif done.status == "finished":
            out.set_result(done.result())
        elif done.client.status != "running":  # the client cancels everything when it loses the scheduler
            out.set_exception(_lost("the Dask scheduler was lost mid-ingest"))
        elif done.status == "cancelled":  # an input lost with every worker that held it
            out.set_exception(RuntimeError("the page's task was cancelled by the cluster"))
        else:
            out.set_exception(done.exception())
    except BaseException as exc:  # fetching the result failed: the connection went meanwhile
        if not out.done() and done.client.status != "running":
            out.set_exception(_lost(f"the Dask scheduler was lost mid-ingest: {type(exc).__name__}: {exc}"))
        elif not out.done():
            out.set_exception(exc)


class ClusterOcrEngine(TesseractEngine):
    """`TesseractEngine` whose pool is a Dask cluster and whose PDF pages are rendered there.

    Back-pressure: at most `pages_in_flight` pages are on the cluster at once (sent or rendered,
    not yet read), across documents and within one, taken in the order they were submitted; the
    rest wait on the coordinator as a path and a page number. A 2,000-page scan thus holds a
    window of pages, not 2,000 rendered images, however much faster the cluster is than the store."""

    def __init__(
        self,
        client: Client,
        cache_dir: str | os.PathLike[str] | None = None,
        tmp_dir: str | os.PathLike[str] | None = None,
        pages_in_flight: int | None = None,
        chinese_engine: str = "auto",
    ):
        super().__init__(cache_dir=cache_dir, workers=1, tmp_dir=tmp_dir, chinese_engine=chinese_engine)
        self.client: Any = client
        self._cluster = ClusterExecutor(client)
        self._originals: dict[str, DaskFuture] = {}  # path -> the bytes sent, while its pages are submitted
        if not pages_in_flight:
            threads = sum(cast(Any, client).nthreads().values()) if client.status == "running" else 0
            pages_in_flight = PAGES_PER_THREAD * max(threads, 1)
        self.pages_in_flight = max(1, pages_in_flight)
        self.in_flight = 0  # pages on the cluster now
        self.most_in_flight = 0  # the most there ever were (tests and benchmarks read it)
        self.pages_asked = 0  # round trips for a page's redaction boxes (tests read it)
        self._waiting: deque[Callable[[], None]] = deque()  # pages' starts, in submission order
        self._window_lock = threading.Lock()

    def run_on_page(self, fn: Callable[..., Any], page: RemotePage, *args: Any) -> Any:
        """`fn(image bytes, *args)` run on the worker that holds the page image (redaction
        detection reads the image OCR rendered there when the page's read did not bring its boxes
        back: a page from the OCR cache; rendered again only if that worker dropped it meanwhile)."""
        self.pages_asked += 1
        return self._cluster.submit_on_page(fn, page, *args).result()

    def extract_remotely(self, extractor: Any, source: Source, passwords: tuple[str, ...]) -> Extraction:
        """`extractor.extract` of a PDF on a worker, ahead of the queued pages; the file is sent
        once, for this and for the rendering of its pages that need OCR."""
        from .models import Extraction, StageError

        original = self._original(source.path)
        extraction: Any = None
        try:
            out = self._cluster.submit(
                extract_pdf, extractor, original, source, passwords, priority=ANALYSIS_PRIORITY
            )
            extraction = out.result()
        finally:
            if not isinstance(extraction, Extraction) or not any(p.needs_ocr for p in extraction.pages):
                self._originals.pop(str(source.path), None)  # no page of it to render
        if isinstance(extraction, tuple):
            raise StageError(*extraction)
        return cast("Extraction", extraction)

    def run_task(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` on a worker, ahead of the pages queued there (a document's analysis,
        archive/portable.py: the coordinator waits for it)."""
        return self._cluster.submit(fn, *args, priority=ANALYSIS_PRIORITY).result()

    def warm_workers(self, recipes: tuple[Any, ...]) -> dict[str, int]:
        """Load the portable steps' models on every worker now (`portable.warm_up`), all at once,
        rather than each on its first document; the steps each worker holds, by worker."""
        from .portable import warm_up

        return cast("dict[str, int]", self.client.run(warm_up, recipes))

    def close(self) -> None:
        self._originals.clear()
        self._waiting.clear()
        if self.client.status != "running":
            _quiet_dask()  # see `_lost`
        if self.client.status not in {"closed", "closing"}:
            self.client.close(timeout=5)

    def _executor(self) -> Any:
        return self._cluster

    # -- the window of pages in flight ---------------------------------------------------------

    def _admit(self, start: Callable[[], None]) -> None:
        with self._window_lock:
            self._waiting.append(start)
        self._pump()

    def _release(self) -> None:
        with self._window_lock:
            self.in_flight -= 1
        self._pump()

    def _pump(self) -> None:
        while True:
            with self._window_lock:
                if self.in_flight >= self.pages_in_flight or not self._waiting:
                    return
                start = self._waiting.popleft()
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            start()

    # -- sending pages -------------------------------------------------------------------------

    def _send(self, data: bytes) -> DaskFuture:
        """An input (an original, an image file) on the cluster: sent by the coordinator once,
        copied by Dask to each worker that needs it. A task that returns it, rather than scattered
        data: the scheduler keeps the bytes, so a worker killed with the only copy costs a copy,
        not the document (scattered data lost with its last holder is gone, and Dask's memory
        manager keeps one copy of what is not needed elsewhere)."""
        if self.client.status != "running":
            raise _lost(f"the Dask scheduler is not connected ({self.client.status})")
        return self.client.submit(given_bytes, data, pure=False, priority=RENDER_PRIORITY)

    def _original(self, path: Path) -> DaskFuture:
        """The file at `path` on the cluster, sent once while its document is begun."""
        key = str(path)
        if key not in self._originals:
            self._originals[key] = self._send(Path(path).read_bytes())
        return self._originals[key]

    def render_remotely(self, path: Path, index: int, password: str | None, number: int) -> RemotePage:
        """Page `index` of the PDF at `path`, to be rendered on the cluster when its batch lets it
        in (the file is sent once per document, not per page, and held while any of its pages
        may need rendering again: a worker lost with a rendered page has it rendered anew)."""
        original = self._original(path)

        token = uuid.uuid4().hex

        def start() -> DaskFuture:
            return self.client.submit(
                render_held, original, index, password, token, pure=False, priority=RENDER_PRIORITY
            )

        return RemotePage(number, start, source=(original, index, password))

    def image_remotely(self, image: bytes | str, number: int) -> RemotePage:
        """An image file (or frame) the coordinator holds, sent to the cluster when let in."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        return RemotePage(number, lambda: self._send(data), digest=hashlib.sha256(data).hexdigest())

    def submit(self, images: Sequence[Any], languages: Sequence[str] | None = None) -> ClusterBatch:  # type: ignore[override]
        self._check_languages(list(languages) if languages else ["eng", "chi_sim", "osd"])
        remote = [
            img if isinstance(img, RemotePage) else self.image_remotely(img, n + 1)
            for n, img in enumerate(images)
        ]
        self._originals.clear()  # each page's start holds its own
        return ClusterBatch(self, remote, tuple(languages) if languages else None)

    def page_key(self, digest: str, languages: Sequence[str] | None) -> str:
        """The OCR cache's key of a page image with this hash (as `TesseractEngine._key`)."""
        key = f"{digest}-{'+'.join(languages) if languages else 'auto'}"
        return key if self.chinese_engine == "auto" else f"{key}-{self.chinese_engine}"


PAGES_PER_THREAD = 3  # pages in flight per worker thread, by default: one read, the next ones rendered


class ClusterBatch:
    """One document's pages on the cluster (what `OcrBatch` is to the local pool): each page is
    let in by the engine's window, rendered, looked up in the OCR cache by its image's hash, read
    (the first page chooses the languages the others start from, as locally), and leaves the
    window when its result is back. Results come in page order."""

    futures_known = True  # `outcomes` are made up front: waiting on `running()` misses no page

    def __init__(self, engine: ClusterOcrEngine, pages: list[RemotePage], languages: tuple[str, ...] | None):
        self.engine = engine
        self.pages = pages
        self.languages = languages
        self.outcomes: list[cf.Future[OcrResult]] = [cf.Future() for _ in pages]
        self._hint: tuple[str, ...] | None = None
        if not pages:
            return
        if languages:
            for i in range(len(pages)):
                engine._admit(functools.partial(self._start, i))
        else:  # one page decides the languages; the others are let in once it is read
            engine._admit(functools.partial(self._start, 0))
            self.outcomes[0].add_done_callback(self._release_tail)

    def _release_tail(self, head: cf.Future[OcrResult]) -> None:
        if not head.cancelled() and head.exception() is None and head.result().words:
            self._hint = tuple(head.result().languages.split("+"))
        for i in range(1, len(self.pages)):
            self.engine._admit(functools.partial(self._start, i))

    def _start(self, i: int) -> None:
        """Send page `i` (a slot is held for it); it goes on when its digest is known."""
        page = self.pages[i]
        try:
            digest = page.begin()
        except BaseException as exc:
            self._finish(i, exc)
            return
        if digest is None:
            self._read(i)
        else:
            digest.add_done_callback(functools.partial(self._rendered, i))

    def _rendered(self, i: int, done: DaskFuture) -> None:
        from ocr import OcrError

        page = self.pages[i]
        try:
            page.rendered(done.result())
        except BaseException as exc:
            if done.client.status != "running":
                self._finish(i, _lost(f"the Dask scheduler was lost while page {page.number} was rendered"))
            else:
                error = OcrError(f"page {page.number} could not be rendered: {type(exc).__name__}: {exc}")
                self._finish(i, error)
            return
        self._read(i)

    def _read(self, i: int) -> None:
        """The page's OCR: from the cache, a run in flight for the same image, or a new run."""
        engine, page = self.engine, self.pages[i]
        try:
            key = engine.page_key(page.digest, self.languages)
            cached = engine._load(engine._cache_path(key))
            if cached is not None:
                self._finish(i, cached)
                return
            hint = None if i == 0 or self.languages else self._hint
            run = engine._start_job(key, cast(Any, page), self.languages, hint)
        except BaseException as exc:
            self._finish(i, exc)
            return
        run.add_done_callback(functools.partial(self._read_done, i))

    def _read_done(self, i: int, run: cf.Future[OcrResult]) -> None:
        error = run.exception()
        self._finish(i, run.result() if error is None else error)

    def _finish(self, i: int, outcome: OcrResult | BaseException) -> None:
        self.engine._release()
        out = self.outcomes[i]
        if isinstance(outcome, BaseException):
            out.set_exception(outcome)
        else:
            out.set_result(outcome)

    def done(self) -> bool:
        """Every page read (or failed): `results()` would not wait."""
        return all(f.done() for f in self.outcomes)

    def running(self) -> list[cf.Future[OcrResult]]:
        return [f for f in self.outcomes if not f.done()]

    def results(self) -> list[OcrResult]:
        from ocr import OcrError

        out: list[OcrResult] = []
        for future in self.outcomes:
            try:
                out.append(future.result())
            except (OcrError, ClusterLost):
                raise
            except BaseException as exc:  # a crashed worker, a task failed too often: this document's
                raise OcrError(f"OCR failed: {type(exc).__name__}: {exc}") from exc
        return out

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
import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ocr import TesseractEngine
from ocr.tesseract import OcrBatch

if TYPE_CHECKING:
    from distributed import Client

    from ocr import OcrResult, RenderedPage

DaskFuture = Any  # distributed.Future: untyped, its methods called through Any

CONNECT_TIMEOUT = 20.0  # seconds to reach the scheduler when an ingest starts
RENDER_PRIORITY = 10  # renders jump the queue: the next document's pages are hashed while OCR runs


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


def page_digest(rendered: RenderedPage) -> tuple[str, float]:
    """What the coordinator needs of a rendered page: its image hash (the OCR cache's key) and dpi."""
    return hashlib.sha256(rendered.data).hexdigest(), rendered.dpi


def run_on_image(fn: Callable[..., OcrResult], image: Any, *args: Any) -> OcrResult:
    """Run the engine's own page function on a page image held by this worker."""
    data = image.data if hasattr(image, "data") else image
    return fn(data, *args)


def dask_setup(worker: Any) -> None:
    """Dask preload hook (`foi worker` passes `--preload archive.cluster`): Tesseract single-threaded
    (one page per thread of the worker), scratch files in the worker's own folder, and the OCR
    code imported once per process, not on the first page."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    scratch = os.path.join(worker.local_directory, "foi-tmp")
    os.makedirs(scratch, exist_ok=True)
    os.environ["TMPDIR"] = scratch
    tempfile.tempdir = scratch
    import ocr.tesseract  # noqa: F401


# -- on the coordinator -----------------------------------------------------------------------


class RemotePage:
    """A page image that lives on the cluster: rendered there (a PDF page) or sent (an image
    file). `digest` and `dpi` wait for the render; a page that cannot be rendered raises OcrError."""

    def __init__(
        self,
        future: DaskFuture,
        number: int,
        digest_future: DaskFuture | None = None,
        digest: str = "",
        original: DaskFuture | None = None,
    ):
        self.future = future
        # Held while the page is: a worker lost with the rendered image has it rendered again
        # from this (see `_send`).
        self.original = original
        self.number = number
        self._digest_future = digest_future
        self._digest = digest
        self._dpi: float | None = None

    def _resolve(self) -> None:
        if self._digest_future is None:
            return
        from ocr import OcrError

        future, self._digest_future = self._digest_future, None
        try:
            self._digest, self._dpi = future.result()
        except Exception as exc:
            if future.client.status != "running":
                raise _lost(f"the Dask scheduler was lost while page {self.number} was rendered") from exc
            raise OcrError(f"page {self.number} could not be rendered: {type(exc).__name__}: {exc}") from exc

    @property
    def digest(self) -> str:
        self._resolve()
        return self._digest

    @property
    def dpi(self) -> float | None:
        self._resolve()
        return self._dpi


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
        if args and isinstance(args[0], RemotePage):
            future = self.client.submit(run_on_image, fn, args[0].future, *args[1:], pure=False, **kwargs)
        else:
            future = self.client.submit(fn, *args, pure=False, **kwargs)
        future.add_done_callback(lambda done: _settle(done, out))
        return out

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


def _settle(done: DaskFuture, out: cf.Future[Any]) -> None:
    """Pass a Dask future's outcome on (a task's error is the page's: its document fails with it)."""
    try:
        if done.status == "finished":
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
    """`TesseractEngine` whose pool is a Dask cluster and whose PDF pages are rendered there."""

    def __init__(
        self,
        client: Client,
        cache_dir: str | os.PathLike[str] | None = None,
        tmp_dir: str | os.PathLike[str] | None = None,
    ):
        super().__init__(cache_dir=cache_dir, workers=1, tmp_dir=tmp_dir)
        self.client: Any = client
        self._cluster = ClusterExecutor(client)
        self._originals: dict[str, DaskFuture] = {}  # path -> the bytes sent, while its pages render

    def run_on_page(self, fn: Callable[..., Any], page: RemotePage, *args: Any) -> Any:
        """`fn(image bytes, *args)` run on the worker that holds the page image (redaction
        detection reads the image OCR rendered there, never rendered again)."""
        return self._cluster.submit(fn, page, *args).result()

    def close(self) -> None:
        self._originals.clear()
        if self.client.status != "running":
            _quiet_dask()  # see `_lost`
        if self.client.status not in {"closed", "closing"}:
            self.client.close(timeout=5)

    def _executor(self) -> Any:
        return self._cluster

    def _job_key(self, image: Any, languages: Sequence[str] | None) -> str:  # type: ignore[override]
        if isinstance(image, RemotePage):
            return f"{image.digest}-{'+'.join(languages) if languages else 'auto'}"
        return TesseractEngine._job_key(image, languages)

    def _send(self, data: bytes) -> DaskFuture:
        """An input (an original, an image file) on the cluster: sent by the coordinator once,
        copied by Dask to each worker that needs it. A task that returns it, rather than scattered
        data: the scheduler keeps the bytes, so a worker killed with the only copy costs a copy,
        not the document (scattered data lost with its last holder is gone, and Dask's memory
        manager keeps one copy of what is not needed elsewhere)."""
        if self.client.status != "running":
            raise _lost(f"the Dask scheduler is not connected ({self.client.status})")
        return self.client.submit(given_bytes, data, pure=False, priority=RENDER_PRIORITY)

    def render_remotely(self, path: Path, index: int, password: str | None, number: int) -> RemotePage:
        """Start rendering page `index` of the PDF at `path` on the cluster (the file is sent once
        per document, not per page); returns at once."""
        key = f"{path}\0{password}"
        original = self._originals.get(key)
        if original is None:
            original = self._originals[key] = self._send(Path(path).read_bytes())
        rendered = self.client.submit(
            render_page, original, index, password, pure=False, priority=RENDER_PRIORITY
        )
        digest = self.client.submit(page_digest, rendered, pure=False, priority=RENDER_PRIORITY)
        return RemotePage(rendered, number, digest, original=original)

    def image_remotely(self, image: bytes | str, number: int) -> RemotePage:
        """An image file (or frame) the coordinator holds, sent to the cluster once."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        return RemotePage(self._send(data), number, digest=hashlib.sha256(data).hexdigest())

    def submit(self, images: Sequence[Any], languages: Sequence[str] | None = None) -> OcrBatch:
        self._check_languages(list(languages) if languages else ["eng", "chi_sim", "osd"])
        remote = [
            img if isinstance(img, RemotePage) else self.image_remotely(img, n + 1)
            for n, img in enumerate(images)
        ]
        self._originals.clear()  # each page holds its own
        return OcrBatch(self, cast(list[Any], remote), tuple(languages) if languages else None)

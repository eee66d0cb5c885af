"""A long-lived LibreOffice for `convert.py`: run by path with a Python that has LibreOffice's UNO
bindings (Debian's python3-uno, /usr/bin/python3), never imported by the archive.

    /usr/bin/python3 uno_bridge.py --soffice PATH --profile FILE-URL --memory BYTES --startup SECONDS

Starts one headless `soffice` in this process group (so the caller kills both at once), with
the given user profile, its address space capped, listening on a private pipe, and connects to it
over UNO. Then it reads one JSON request a line on stdin and answers one JSON line on stdout:

    first line out    {"ready": true, "soffice": PID}  or  {"ready": false, "error": "..."}
    request           {"source": PATH, "output": PATH, "target": "pdf" | "xlsx" | ... | "EXT:Filter"}
    answer            {"ok": true}  or  {"ok": false, "error": "...", "stopped": bool, "reason": "...",
                                                 "unknown_target": bool}

Documents are loaded hidden, read-only, with macros never executed and links never updated, then
stored through the export filter that fits the document (Writer, Calc, Impress or Draw PDF) and
closed. "unknown_target": no filter here for that target. "reason" (when given) says why a document was refused, naming no path. "stopped" means LibreOffice itself went away (crashed, killed): the bridge exits after
answering and the caller starts another. At the end of stdin it terminates LibreOffice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

PDF_FILTERS = (  # (service the loaded document supports, its PDF export filter); first match wins
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.GenericTextDocument", "writer_pdf_Export"),
)
TEXT, SHEET = "com.sun.star.text.TextDocument", "com.sun.star.sheet.SpreadsheetDocument"
SLIDES = "com.sun.star.presentation.PresentationDocument"
OTHER_FILTERS = {  # other targets: (filter, the service a document needs for it)
    "docx": ("MS Word 2007 XML", TEXT),
    "doc": ("MS Word 97", TEXT),
    "odt": ("writer8", TEXT),
    "rtf": ("Rich Text Format", TEXT),
    "xlsx": ("Calc Office Open XML", SHEET),
    "xls": ("MS Excel 97", SHEET),
    "ods": ("calc8", SHEET),
    "pptx": ("Impress Office Open XML", SLIDES),
    "ppt": ("MS PowerPoint 97", SLIDES),
    "odp": ("impress8", SLIDES),
}


class Refused(ValueError):
    """A document this bridge will not convert; its message names no path."""


class UnknownTarget(ValueError):
    """A target this bridge has no filter for (the caller's one-off --convert-to guesses one)."""


NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_UPDATE = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE


def _callback(job: Callable[[], None]) -> Any:
    """`job` as a UNO XCallback (the UNO modules exist only once uno is imported)."""
    import unohelper
    from com.sun.star.awt import XCallback

    class Job(unohelper.Base, XCallback):  # type: ignore[misc]
        def notify(self, data: Any) -> None:
            job()

    return Job()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Office:
    """One soffice process and the UNO connection to it."""

    def __init__(self, soffice: str, profile: str, memory: int, startup: float):
        import uno

        self.uno = uno
        pipe = f"foi-{os.getpid()}-{uuid.uuid4().hex[:12]}"

        def capped() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.proc = subprocess.Popen(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--invisible",
                "--norestore",
                "--nolockcheck",
                "--nodefault",
                "--nologo",
                f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=capped,
        )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + startup
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:  # NoConnectException until soffice listens
                if self.proc.poll() is not None:
                    raise RuntimeError(f"soffice exited at start (status {self.proc.returncode})") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"soffice did not listen within {startup:g} s") from None
                time.sleep(0.1)
        self.desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        # Posts a call to LibreOffice's main thread; what that call asks of LibreOffice runs there.
        self.main_thread = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.awt.AsyncCallback", context
        )

    def _props(self, **values: Any) -> tuple[Any, ...]:
        props = []
        for name, value in values.items():
            prop = self.uno.createUnoStruct("com.sun.star.beans.PropertyValue")
            prop.Name, prop.Value = name, value
            props.append(prop)
        return tuple(props)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            self.desktop.getFrames()
            return True
        except Exception:
            return False

    def convert(self, source: str, output: str, target: str) -> None:
        """Runs the conversion on LibreOffice's main thread, as its own --convert-to does: called
        from a connection thread, loading lets the main loop build windows for the hidden view
        meanwhile (a Writer file's comments), which the no-GUI packages cannot and abort on."""
        done = threading.Event()
        failed: list[BaseException] = []

        def job() -> None:
            try:
                self._convert_here(source, output, target)
            except BaseException as exc:
                failed.append(exc)
            finally:
                done.set()

        self.main_thread.addCallback(_callback(job), None)
        while not done.wait(0.5):
            if self.proc.poll() is not None:
                raise RuntimeError("LibreOffice stopped")
        if failed:
            raise failed[0]

    def _convert_here(self, source: str, output: str, target: str) -> None:
        load = self._props(
            Hidden=True, ReadOnly=True, MacroExecutionMode=NEVER_EXECUTE, UpdateDocMode=NO_UPDATE
        )
        doc = self.desktop.loadComponentFromURL(Path(source).resolve().as_uri(), "_blank", 0, load)
        if doc is None:
            raise Refused("damaged, or not really this format")
        try:
            extension, _, named = target.partition(":")
            if named:
                filter_name = named
            elif extension == "pdf":
                filter_name = next((f for s, f in PDF_FILTERS if doc.supportsService(s)), "writer_pdf_Export")
            elif extension in OTHER_FILTERS:
                filter_name, needed = OTHER_FILTERS[extension]
                if not doc.supportsService(needed):
                    raise Refused(f"not a document that converts to {extension}")
            else:
                raise UnknownTarget(extension)
            store = self._props(FilterName=filter_name, Overwrite=True)
            doc.storeToURL(Path(output).resolve().as_uri(), store)
        finally:
            try:
                doc.close(True)
            except Exception:
                doc.dispose()

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # it may be gone already
            self.desktop.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soffice", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--startup", type=float, default=60.0)
    args = parser.parse_args()
    try:
        office = Office(args.soffice, args.profile, args.memory, args.startup)
    except ImportError as exc:
        _say({"ready": False, "error": f"no UNO bindings in this Python ({exc})", "no_uno": True})
        return 2
    except Exception as exc:
        _say({"ready": False, "error": str(exc)})
        return 1
    _say({"ready": True, "soffice": office.proc.pid})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            office.convert(request["source"], request["output"], request["target"])
            _say({"ok": True})
        except UnknownTarget as exc:
            _say({"ok": False, "error": f"no filter for {exc}", "unknown_target": True, "stopped": False})
        except Refused as exc:
            _say({"ok": False, "error": str(exc), "reason": str(exc), "stopped": False})
        except Exception as exc:
            stopped = not office.alive()
            _say({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "stopped": stopped})
            if stopped:
                return 1
    office.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

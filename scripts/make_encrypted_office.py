"""Save office files with a password through LibreOffice itself (UNO), for the tests of
`--password`: `python3 scripts/make_encrypted_office.py OUTDIR PASSWORD`. Runs under the system
Python, which has Debian's `uno` module (python3-uno, installed with LibreOffice); the project's
venv does not need it. Writes locked.odt, locked.ods, locked.doc and locked.xls, each holding
the phrase in PHRASES."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHRASES = {
    "locked.odt": "ferry subsidy overspend",
    "locked.ods": "harbour crane lease",
    "locked.doc": "pier demolition estimate",
    "locked.xls": "seawall repair invoice",
}
_FILTERS = {".odt": "writer8", ".ods": "calc8", ".doc": "MS Word 97", ".xls": "MS Excel 97"}


def _prop(name: str, value: object) -> object:
    import uno

    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name, p.Value = name, value
    return p


def main(out: Path, password: str) -> None:
    import uno

    out.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="foi-uno-fixture-"))
    pipe = f"foi_fixture_{os.getpid()}"
    proc = subprocess.Popen(
        [
            "soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
            "--norestore", "--nolockcheck", "--nodefault", f"--accept=pipe,name={pipe};urp;",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(profile), "SAL_USE_VCLPLUGIN": "svp"},
    )  # fmt: skip
    try:
        resolver = uno.getComponentContext().ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", uno.getComponentContext()
        )
        for _ in range(600):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.1)
        else:
            raise SystemExit("LibreOffice did not answer")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        hidden = (_prop("Hidden", True),)
        for name, phrase in PHRASES.items():
            suffix = Path(name).suffix
            if suffix in {".odt", ".doc"}:
                doc = desktop.loadComponentFromURL("private:factory/swriter", "_blank", 0, hidden)
                doc.getText().setString(f"Internal note: the {phrase} was not reported to the board.")
            else:
                doc = desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, hidden)
                sheet = doc.getSheets().getByIndex(0)
                sheet.getCellByPosition(0, 0).setString("Item")
                sheet.getCellByPosition(0, 1).setString(phrase)
                sheet.getCellByPosition(1, 1).setValue(48250)
            target = (out / name).resolve().as_uri()
            doc.storeToURL(target, (_prop("FilterName", _FILTERS[suffix]), _prop("Password", password)))
            doc.close(True)
        desktop.terminate()
    finally:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run(["rm", "-rf", str(profile)], check=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])

"""The positive control of tests/test_office_bridge.py's macro test, run by path with the system
Python that has LibreOffice's UNO bindings (never imported by the suite):

    /usr/bin/python3 tests/uno_macro_control.py PROFILE_DIR DOCUMENT OUTPUT_PDF

Converts DOCUMENT exactly as archive/extractors/office/uno_bridge.py does, except that the
profile allows every macro and documents are loaded with macro execution "always, no warning":
a document macro that runs on load then does run, and the test sees its marker file."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive" / "extractors" / "office"))
import uno_bridge  # noqa: E402

ALLOW_MACROS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
ALWAYS_EXECUTE_NO_WARN = 4  # com.sun.star.document.MacroExecMode


def main() -> int:
    profile, document, output = (Path(a).resolve() for a in sys.argv[1:4])
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(ALLOW_MACROS, encoding="utf-8")
    uno_bridge.NEVER_EXECUTE = ALWAYS_EXECUTE_NO_WARN
    office = uno_bridge.Office("soffice", profile.as_uri(), 4 << 30, 60)
    try:
        office.convert(str(document), str(output), "pdf")
    finally:
        office.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Office files with a password: told before LibreOffice sees them (it would wait for one), and
opened with the passwords given to the ingester (`--password`) through msoffcrypto-tool."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ...models import StageError
from .detect import DOC, ENCRYPTED_OOXML, ODG, ODP, ODS, ODT, PPT, XLS, office_mime

# Excel's default for workbooks that are only write-protected: opens without asking anyone.
_EXCEL_DEFAULT = "VelvetSweatshop"
_OLE_KINDS = {DOC, XLS, PPT, ENCRYPTED_OOXML}
_ODF_KINDS = {ODT, ODS, ODP, ODG}


def is_encrypted(path: Path, mime: str) -> bool:
    if mime == ENCRYPTED_OOXML:
        return True
    if mime in _ODF_KINDS:
        try:
            with zipfile.ZipFile(path) as zf:
                return b"encryption-data" in zf.read("META-INF/manifest.xml")[:5_000_000]
        except (KeyError, zipfile.BadZipFile, OSError):
            return False
    if mime in _OLE_KINDS:
        import msoffcrypto

        try:
            with open(path, "rb") as fh:
                return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
        except Exception:
            return False
    return False


def decrypt(path: Path, mime: str, passwords: tuple[str, ...], outdir: Path, what: str) -> tuple[Path, str]:
    """A decrypted copy of `path` and its office type. Raises StageError("extract", ...) that
    says a password is needed when none of `passwords` opens it."""
    if mime in _ODF_KINDS:
        raise StageError(
            "extract", f"encrypted {what}: password required (OpenDocument encryption is not opened here)"
        )
    import msoffcrypto

    candidates = [*passwords, _EXCEL_DEFAULT] if mime == XLS else list(passwords)
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / ("decrypted" + path.suffix.lower()[:12])
    for password in candidates:
        try:
            with open(path, "rb") as fh:
                office = msoffcrypto.OfficeFile(fh)
                office.load_key(password=password)
                with open(target, "wb") as out:
                    office.decrypt(out)
        except Exception:
            target.unlink(missing_ok=True)
            continue
        real = office_mime(target, "application/zip") if mime == ENCRYPTED_OOXML else mime
        if real is not None:
            return target, real
    if not passwords:
        raise StageError("extract", f"encrypted {what}: password required (pass it with --password)")
    raise StageError("extract", f"encrypted {what}: none of the {len(passwords)} passwords given opens it")

"""Office files with a password: told before LibreOffice sees them (it would wait for one), and
opened with the passwords given to the ingester (`--password`): Microsoft formats through
msoffcrypto-tool, OpenDocument through `odf_crypto`."""

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
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / ("decrypted" + path.suffix.lower()[:12])
    if mime in _ODF_KINDS:
        return _decrypt_odf(path, mime, passwords, target, what), mime
    import msoffcrypto

    candidates = [*passwords, _EXCEL_DEFAULT] if mime == XLS else list(passwords)
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
    raise _no_password(passwords, what)


def _decrypt_odf(path: Path, mime: str, passwords: tuple[str, ...], target: Path, what: str) -> Path:
    from .odf_crypto import UnsupportedEncryption, WrongPassword, decrypt_package

    for password in passwords:
        try:
            return decrypt_package(path, password, target)
        except WrongPassword:
            continue
        except UnsupportedEncryption as exc:
            raise StageError(
                "extract", f"encrypted {what}: its encryption ({exc}) is not opened here"
            ) from None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:
            raise StageError("extract", f"encrypted {what}: damaged ({type(exc).__name__})") from None
    raise _no_password(passwords, what)


def _no_password(passwords: tuple[str, ...], what: str) -> StageError:
    if not passwords:
        return StageError("extract", f"encrypted {what}: password required (pass it with --password)")
    return StageError("extract", f"encrypted {what}: none of the {len(passwords)} passwords given opens it")

"""Password-protected OpenDocument files (.odt .ods .odp .odg), decrypted into a plain package
that LibreOffice and the property readers open like any other.

An encrypted package keeps its `mimetype` and manifest in clear; every other part is deflated,
then encrypted with a key derived from the password as its manifest entry says (ODF 1.2: PBKDF2
over the SHA-256 or SHA-1 of the password, AES-256-CBC or the older Blowfish CFB) and carries a
checksum of its first kilobyte, which tells a wrong password. The primitives are
`cryptography`'s; AES-GCM with Argon2 (LibreOffice 24.2's optional scheme) is reported as not
opened here."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

_NS = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"
_AES_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
_BLOWFISH = {"Blowfish CFB", "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#blowfish"}
_SHA256 = {"http://www.w3.org/2000/09/xmldsig#sha256", "http://www.w3.org/2001/04/xmlenc#sha256", "SHA256"}
MAX_PART_BYTES = 512 * 1024 * 1024  # a part's inflated size: a package is no zip bomb either


class WrongPassword(Exception):
    """The password does not open the package."""


class UnsupportedEncryption(Exception):
    """The package is encrypted with a scheme this module does not read."""


@dataclass(frozen=True)
class _Encryption:
    algorithm: str
    iv: bytes
    salt: bytes
    iterations: int
    key_size: int
    start_key: str
    checksum_type: str
    checksum: bytes


def _entries(manifest: bytes) -> dict[str, _Encryption]:
    found: dict[str, _Encryption] = {}
    for entry in ElementTree.fromstring(manifest).iter(f"{_NS}file-entry"):
        data = entry.find(f"{_NS}encryption-data")
        if data is None:
            continue
        algorithm = data.find(f"{_NS}algorithm")
        derivation = data.find(f"{_NS}key-derivation")
        start = data.find(f"{_NS}start-key-generation")
        if algorithm is None or derivation is None or derivation.get(f"{_NS}key-derivation-name") != "PBKDF2":
            raise UnsupportedEncryption("key derivation other than PBKDF2")
        name = algorithm.get(f"{_NS}algorithm-name", "")
        if name != _AES_CBC and name not in _BLOWFISH:
            raise UnsupportedEncryption(name.rsplit("#", 1)[-1] or "unnamed algorithm")
        found[entry.get(f"{_NS}full-path", "")] = _Encryption(
            algorithm=name,
            iv=base64.b64decode(algorithm.get(f"{_NS}initialisation-vector", "")),
            salt=base64.b64decode(derivation.get(f"{_NS}salt", "")),
            iterations=int(derivation.get(f"{_NS}iteration-count", "1024")),
            key_size=int(derivation.get(f"{_NS}key-size", "16")),
            start_key=start.get(f"{_NS}start-key-generation-name", "SHA1") if start is not None else "SHA1",
            checksum_type=data.get(f"{_NS}checksum-type", "SHA1/1K"),
            checksum=base64.b64decode(data.get(f"{_NS}checksum", "")),
        )
    return found


def _decrypt_part(data: bytes, enc: _Encryption, password: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    start = (hashlib.sha256 if enc.start_key in _SHA256 else hashlib.sha1)(password.encode("utf-8")).digest()
    key = hashlib.pbkdf2_hmac("sha1", start, enc.salt, enc.iterations, enc.key_size)
    if enc.algorithm == _AES_CBC:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(enc.iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1] if plain else 0
        if not 1 <= pad <= 16:
            raise WrongPassword
        plain = plain[:-pad]  # W3C padding: only the last byte (the count) is defined
    else:
        from cryptography.hazmat.decrepit.ciphers.algorithms import Blowfish

        decryptor = Cipher(Blowfish(key), modes.CFB(enc.iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
    digest = hashlib.sha256 if "sha256" in enc.checksum_type.lower() else hashlib.sha1
    if enc.checksum and digest(plain[:1024]).digest() != enc.checksum:
        raise WrongPassword
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(plain, MAX_PART_BYTES)
    except zlib.error as exc:
        raise WrongPassword from exc
    if inflater.unconsumed_tail:
        raise UnsupportedEncryption(f"a part inflates past {MAX_PART_BYTES // 1024**2} MB")
    return out


def decrypt_package(path: Path, password: str, target: Path) -> Path:
    """`path` with every encrypted part decrypted, written to `target` (a plain package). Raises
    WrongPassword when the password does not open it, UnsupportedEncryption for other schemes."""
    with zipfile.ZipFile(path) as zin:
        manifest = zin.read("META-INF/manifest.xml")
        entries = _entries(manifest)
        # The first (smallest) encrypted part checks the password before any other work.
        order = sorted(entries, key=lambda n: zin.getinfo(n).compress_size if n in zin.NameToInfo else 0)
        if order and order[0] in zin.NameToInfo:
            _decrypt_part(zin.read(order[0]), entries[order[0]], password)
        plain_manifest = re.sub(
            rb"<manifest:encryption-data\b.*?</manifest:encryption-data>", b"", manifest, flags=re.S
        )
        with zipfile.ZipFile(target, "w") as zout:
            for info in zin.infolist():
                if info.filename == "mimetype":
                    zout.writestr(info.filename, zin.read(info), zipfile.ZIP_STORED)
                elif info.filename == "META-INF/manifest.xml":
                    zout.writestr(info.filename, plain_manifest, zipfile.ZIP_DEFLATED)
                elif info.filename in entries:
                    zout.writestr(
                        info.filename,
                        _decrypt_part(zin.read(info), entries[info.filename], password),
                        zipfile.ZIP_DEFLATED,
                    )
                else:
                    zout.writestr(info.filename, zin.read(info), zipfile.ZIP_DEFLATED)
    return target

"""Hostile input files for the reliability harness (issue #14), written into a folder.

    python tests/hostile/make_hostile.py OUT_DIR [--large]

Every maker returns bytes (or writes a special file itself) and is deterministic. `CASES` maps each
file name to what the ingest must do with it: "done" (stored and searchable by its `word`),
"failed" (recorded with a stage and a reason matching `reason`), "skipped" (no document at all) or
"limited" (stored, its content partly read, the limit recorded). `--large` adds the 10 MB header
floods (slow to write on a loaded machine, so not made by default).
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# -- mail ------------------------------------------------------------------------------------------


def eml(headers: str, body: bytes | str, charset_line: str = "") -> bytes:
    body_b = body.encode() if isinstance(body, str) else body
    return (headers.rstrip("\n") + "\n" + charset_line + "\n").encode() + body_b


def unknown_charset_eml(word: str) -> bytes:
    """A text body whose declared charset Python does not know; the body itself is ASCII."""
    return eml(
        "From: clerk@example.org\nTo: desk@example.org\nSubject: unknown charset\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=x-unknown-9",
        f"The {word} minutes were approved.\n",
    )


def unknown_charset_multipart(word_plain: str, word_html: str, latin1_word: str) -> bytes:
    """multipart/mixed: a text/plain and a text/html part in unknown charsets, and a third text
    part in an unknown charset with Latin-1 bytes (detection has to find a single-byte charset)."""
    return (
        (
            "From: clerk@example.org\nTo: desk@example.org\nSubject: unknown charsets inside\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
            "--XX\nContent-Type: text/plain; charset=x-unknown-9\n\n"
            f"Plain part {word_plain} here.\n"
            '--XX\nContent-Type: text/html; charset="no-such-charset"\n\n'
            f"<html><body><p>Html part {word_html} here.</p></body></html>\n"
            "--XX\nContent-Type: text/plain; charset=x-bogus\n\n"
        ).encode()
        + f"Caf\xe9 r\xe9sum\xe9 {latin1_word} d\xe9j\xe0 vu.\n".encode("latin-1")
        + b"--XX--\n"
    )


def to_flood(n: int = 400_000, word: str = "floodbodyword") -> bytes:
    """A To: header folding `n` addresses (about 9.5 MB for 400,000)."""
    addresses = ",\n ".join(f"user{i}@example.com" for i in range(n))
    return (
        f"From: a@example.com\nTo: {addresses}\nSubject: flood of recipients\n\nBody {word} here.\n"
    ).encode()


def subject_flood(size: int = 10_000_000, word: str = "subjbodyword") -> bytes:
    """A Subject: of `size` bytes, folded at about 72 characters."""
    line = " ".join(f"w{i:06d}" for i in range(9))  # 71 characters
    lines = "\n ".join([line] * (size // (len(line) + 2)))
    return f"From: a@example.com\nTo: b@example.com\nSubject: {lines}\n\nBody {word} here.\n".encode()


def field_flood(n: int = 300_000, word: str = "fieldfloodword") -> bytes:
    """`n` header fields, with the Content-Type and To after all of them."""
    fields = "".join(f"X-Flood-{i}: value {i}\n" for i in range(n))
    return (
        f"From: a@example.com\nSubject: many fields\n{fields}Content-Type: text/plain; charset=utf-8\n"
        f"To: last@example.com\n\nBody {word} here.\n"
    ).encode()


def nested_rfc822(levels: int = 500, outer_word: str = "outerlevelword") -> bytes:
    """`levels` messages each forwarding the next as its whole body (message/rfc822)."""
    heads = [
        f"From: l{i}@example.com\nSubject: level {i} {outer_word if i == 0 else ''}\nMIME-Version: 1.0\n"
        "Content-Type: message/rfc822\n\n"
        for i in range(levels)
    ]
    return ("".join(heads) + "From: inner@example.com\nSubject: innermost\n\ninnermostdeepword\n").encode()


def nested_multipart(levels: int = 500, kept_word: str = "keptlevelword") -> bytes:
    """`levels` multiparts inside each other; level 2 holds a text part with `kept_word`."""
    opens, closes = [], []
    for i in range(levels):
        b = f"b{i}"
        text = f"--{b}\nContent-Type: text/plain\n\nLevel {i} says {kept_word}.\n" if i == 0 else ""
        opens.append(f"Content-Type: multipart/mixed; boundary={b}\n\n{text}--{b}\n")
        closes.append(f"\n--{b}--\n")
    inner = "Content-Type: text/plain\n\ninnermostdeepword\n"
    head = "From: a@example.com\nTo: b@example.com\nSubject: deep multipart\nMIME-Version: 1.0\n"
    return (head + "".join(opens) + inner + "".join(reversed(closes))).encode()


def many_parts(n: int = 5000, word: str = "firstpartword") -> bytes:
    parts = [f"--b\nContent-Type: text/plain\n\npart {i} {word if i == 0 else ''}\n" for i in range(n)]
    head = "From: a@example.com\nSubject: many parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
    return (head + "".join(parts) + "--b--\n").encode()


# -- archives --------------------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _deflate_zeros(prefix: bytes, mib: int, tail: int = 0) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of `prefix` + `mib` MiB + `tail` bytes of zeros, made
    fast: after a full flush every MiB of zeros compresses to the same bytes, so one is repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = bytes(1 << 20)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.compress(bytes(tail)) + c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(bytes(tail), crc)
    return head + one * mib + end, crc, len(prefix) + (mib << 20) + tail


def zip_bomb(mib: int = 4000) -> bytes:
    """One deflated member of `mib` MiB of zeros (about 4 MB on disk), CRC and sizes true."""
    data, crc, size = _deflate_zeros(b"", mib)
    name = b"zeros.bin"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(data),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    cd_offset = len(local) + len(name) + len(data)
    cd = central + name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), cd_offset, 0)
    return local + name + data + cd + eocd


def nested_zip_bomb(fanout: int = 8, depth: int = 2, member_mib: int = 100) -> bytes:
    """Zips of `fanout` copies of the zip below, `depth` times: fanout**depth leaves of
    `member_mib` MiB of zeros each (42.zip-like; 6.4 GB from about 7 MB by default)."""
    data = zip_bomb(member_mib)
    for _ in range(depth):
        data = _zip([(f"copy{i}.zip", data) for i in range(fanout)], zipfile.ZIP_STORED)
    return data


def tar_bomb(mib: int = 2048) -> bytes:
    """A gzipped tar of one member of `mib` MiB of zeros (about 2 MB on disk)."""
    info = tarfile.TarInfo("zeros.bin")
    info.size = mib << 20
    header = info.tobuf(format=tarfile.USTAR_FORMAT)
    data, crc, size = _deflate_zeros(header, mib, tail=1024)  # the data, then two zero end blocks
    gz_head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return gz_head + data + struct.pack("<II", crc, size & 0xFFFFFFFF)


def self_nested_zip(copies: int = 12, word: str = "selfzipword") -> bytes:
    """The same zip nested in itself `copies` times (every level holds the level below twice),
    deeper than any depth limit; `word` is in a note at the top, which is read, and in the
    deepest level, which is not."""
    data = _zip([("note.txt", f"Inside the zip {word}.\n".encode())])
    for _ in range(copies):
        data = _zip([("again.zip", data), ("again2.zip", data)])
    return _zip([("again.zip", data), ("top-note.txt", f"The top of the nest {word}.\n".encode())])


def zip_quine_like() -> bytes:
    """A zip whose member is byte-for-byte the zip itself is not writable without a real quine, so:
    a zip holding a member equal to the outer file's content except for one byte, and its parent
    that contains exactly itself one level down (the 'same zip nested' case)."""
    inner = _zip([("loop.zip", b"PK\x03\x04 not really"), ("readme.txt", b"loop\n")])
    return _zip([("loop.zip", inner), ("loop2.zip", inner)])


def bad_zip_names(word: str = "oddnameword") -> bytes:
    """Members with names an extractor must not trust: absolute, parent folders, newlines, RTL,
    very long, control characters."""
    names = [
        "/etc/passwd",
        "../../escape.txt",
        "line\nbreak.txt",
        "rtl\u202etxt.exe",
        "x" * 300 + ".txt",
        "ctrl\x01\x7f.txt",
        "folder/../../../up.txt",
    ]
    return _zip([(n, f"member {i} {word}\n".encode()) for i, n in enumerate(names)])


def tar_with_links(word: str = "tarlinkword") -> bytes:
    """A tar with a symlink to /etc/passwd, a hard link out of the tree, a FIFO and a device."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = f"plain member {word}\n".encode()
        info = tarfile.TarInfo("ok.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        for name, kind, target in (
            ("passwd-link", tarfile.SYMTYPE, "/etc/passwd"),
            ("hard-link", tarfile.LNKTYPE, "../../../etc/passwd"),
            ("fifo", tarfile.FIFOTYPE, ""),
            ("dev", tarfile.CHRTYPE, ""),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            t.addfile(info)
    return buf.getvalue()


# -- images and PDFs --------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def lying_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header claiming width x height (40 GB of RGBA) with one tiny compressed row."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb" + b"\x00" * 40


def cyclic_pdf() -> bytes:
    """A PDF whose page tree points back at itself (Pages -> Kids -> Pages) and whose outline
    entries loop."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /Outlines 4 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> /Contents 3 0 R >>",
        b"<< /Type /Outlines /First 5 0 R /Last 5 0 R /Count 1 >>",
        b"<< /Title (loop) /Parent 4 0 R /Next 5 0 R /Prev 5 0 R >>",
    ]
    return _pdf(objs)


def broken_pdf() -> bytes:
    """A header, a stream whose Length lies, no xref and no trailer."""
    return b"%PDF-1.7\n1 0 obj\n<< /Length 999999 >>\nstream\nBT (half) Tj\nendobj\n%%EO"


def deep_pdf(levels: int = 5000) -> bytes:
    """A page whose Resources hold an array nested `levels` deep (recursive parsers overflow)."""
    deep = b"[" * levels + b"]" * levels
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /X " + deep + b" >> >>",
    ]
    return _pdf(objs)


def _pdf(objs: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# -- the catalogue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # file name in the output folder (str, or bytes for a name that is not UTF-8)
    make: Callable[[], bytes] | None
    expect: str  # "done" | "failed" | "limited" | "skipped" | "any"
    word: str | None = None  # a word the stored document must be found by
    reason: str | None = None  # a regular expression the recorded reason must match
    large: bool = False


CASES: list[Case] = [
    Case(
        "good.txt", lambda: b"An ordinary release letter about goodcontrolword.\n", "done", "goodcontrolword"
    ),
    Case("unknown-charset.eml", lambda: unknown_charset_eml("charsetbodyword"), "done", "charsetbodyword"),
    Case(
        "unknown-charset-multipart.eml",
        lambda: unknown_charset_multipart("plainpartword", "htmlpartword", "latinpartword"),
        "done",
        "latinpartword",
    ),
    Case("nested-rfc822.eml", nested_rfc822, "limited", "outerlevelword", r"nested too deep \(\d+ levels\)"),
    Case(
        "nested-multipart.eml",
        nested_multipart,
        "limited",
        "keptlevelword",
        r"nested too deep \(\d+ levels\)",
    ),
    Case("many-parts.eml", many_parts, "limited", "firstpartword", r"more than \d+ MIME parts"),
    Case("field-flood.eml", field_flood, "done", "fieldfloodword"),
    Case("to-flood.eml", to_flood, "done", "floodbodyword", large=True),
    Case("subject-flood.eml", subject_flood, "done", "subjbodyword", large=True),
    Case("zip-bomb.zip", zip_bomb, "failed", None, r"(?i)would expand|ratio|too large|limit"),
    # Leaves refused by their compression ratio, each recorded on its zip; the top says so.
    Case("nested-zip-bomb.zip", nested_zip_bomb, "limited", None, r"(?i)ratio|limit|budget"),
    Case("tar-bomb.tar.gz", tar_bomb, "failed", None, r"(?i)larger than .* bytes|ratio|bomb|limit"),
    Case("self-nested.zip", self_nested_zip, "limited", "selfzipword", r"(?i)limit|deep|nest"),
    Case("same-zip-twice.zip", zip_quine_like, "done", None),
    Case("odd-member-names.zip", bad_zip_names, "done", "oddnameword"),
    # Tar is read since issue 19: its links and FIFO are recorded as not followed (test_hostile).
    Case("links.tar", tar_with_links, "any", None),
    Case("lying.png", lying_png, "failed", None, r"(?i)pixels|decompression|too large|limit"),
    Case("truncated.jpg", truncated_jpeg, "failed", None, r"(?i)unreadable|cannot|truncated"),
    Case("cyclic.pdf", cyclic_pdf, "any", None),
    Case("broken.pdf", broken_pdf, "failed", None, r"(?i)broken|unreadable|eof|pdf"),
    Case("deep.pdf", deep_pdf, "any", None),
    # Names that are hostile in themselves (the content is plain text).
    Case("line\nbreak.txt", lambda: b"newline in the name namenlword\n", "done", "namenlword"),
    Case("rtl-\u202egnp.txt", lambda: b"right-to-left override rtlnameword\n", "done", "rtlnameword"),
    Case("n" * 240 + ".txt", lambda: b"a very long name longnameword\n", "done", "longnameword"),
]

# Special files made in the folder itself: (name, kind, target); symlinks are never followed.
SPECIAL = [
    ("link-to-passwd", "symlink", "/etc/passwd"),
    ("dangling-link", "symlink", "does-not-exist.txt"),
    ("loop-a", "symlink", "loop-b"),
    ("loop-b", "symlink", "loop-a"),
    ("link-to-root", "symlink", "/"),
    ("a-fifo", "fifo", ""),
]
BYTES_NAME = b"latin1-\xe9t\xe9-\xff.txt"  # a file name that is not UTF-8
BYTES_NAME_WORD = "bytesnameword"


def make_all(out: Path, large: bool = False) -> list[Case]:
    """Write every case into `out` (created); returns the cases written."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for case in CASES:
        if case.large and not large:
            continue
        assert case.make is not None
        (out / case.name).write_bytes(case.make())
        made.append(case)
    for name, kind, target in SPECIAL:
        path = out / name
        if kind == "symlink":
            os.symlink(target, path)
        elif kind == "fifo":
            os.mkfifo(path)
    with open(os.path.join(os.fsencode(out), BYTES_NAME), "wb") as fh:
        fh.write(f"a file whose name is not UTF-8 {BYTES_NAME_WORD}\n".encode())
    return made


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    made = make_all(Path(args[0]), large="--large" in argv)
    print(f"{len(made)} files, {len(SPECIAL)} special files and one byte-named file in {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Bounded-time fuzzing (issue #14) of the mail parser and the zip extractor with Hypothesis: random
bytes, mutated corpus messages and mutated zips. The only exception allowed out of an extractor is
StageError (the documented per-document failure), and each input is read within the deadline."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.extractors import ExtractContext, make_source
from archive.extractors.archives import ZipExtractor
from archive.extractors.mail.bounds import bound_message
from archive.extractors.mail.mbox import MboxExtractor
from archive.extractors.mail.rfc822 import EmlExtractor, extract_rfc822
from archive.models import Extraction, StageError
from conftest import CORPUS

pytestmark = pytest.mark.hostile

FUZZ = settings(
    max_examples=int(os.environ.get("FOI_FUZZ_EXAMPLES", "120")),  # more for a long local run
    deadline=3000,  # ms per input: a parser that blows up on size or depth misses it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SEEDS = sorted((CORPUS / "email-eml").glob("*.eml"))
# Pieces that steer a mutated message into the parser's corners.
TOKENS = [
    b"\n\n",
    b"\r\n",
    b"--",
    b"--b\n",
    b"--b--\n",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"Content-Type: message/rfc822\n\n",
    b"Content-Type: text/plain; charset=x-unknown-9\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"=?utf-8?B?5rW35rSL?=",
    b"=?x-bogus?Q?=FF=FE?=",
    b"To: " + b"a@b," * 50 + b"\n",
    b"Subject: \xff\xfe\x00\n",
    b"\n ",
    b"\x00",
    b"\xe6\xb5\xb7",
]


def _extract(extractor, data: bytes, name: str) -> Extraction | None:
    work = Path(tempfile.mkdtemp(prefix="foi-fuzz-"))
    try:
        path = work / name
        path.write_bytes(data)
        source = make_source(path)
        try:
            return extractor.extract(source, ExtractContext(workdir=work / "out"))
        except StageError:
            return None  # the documented per-document failure
    finally:
        shutil.rmtree(work, ignore_errors=True)


@st.composite
def mutated(draw, seeds: list[bytes], tokens: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(tokens)) if tokens else draw(st.binary(max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "repeat":
            piece = bytes(data[at : at + draw(st.integers(1, 200))])
            data[at:at] = piece * draw(st.integers(1, 50))
        elif op == "truncate":
            del data[at:]
    return bytes(data)


_EML_SEEDS = [p.read_bytes()[:20000] for p in SEEDS]


@FUZZ
@given(st.binary(max_size=4096))
def test_mail_parser_random_bytes(data):
    ex = _extract(EmlExtractor(), data, "random.eml")
    assert ex is None or (ex.kind == "email" and len(ex.pages) == 1)


@FUZZ
@given(mutated(_EML_SEEDS, TOKENS))
def test_mail_parser_mutated_corpus_messages(data):
    ex = _extract(EmlExtractor(), data, "mutated.eml")
    assert ex is None or ex.kind == "email"
    bounded = bound_message(data)  # the scan before parsing never loses the header block's start
    assert bounded.levels >= 1


@FUZZ
@given(st.lists(st.sampled_from(TOKENS + [b"From: a@b\n", b"Subject: s\n", b"body\n"]), max_size=200))
def test_mail_parser_token_soup(pieces):
    data = b"".join(pieces)
    with tempfile.TemporaryDirectory(prefix="foi-fuzz-") as tmp:
        ex = extract_rfc822(data, ExtractContext(workdir=Path(tmp)))
    assert ex.kind == "email"


@FUZZ
@given(st.lists(mutated(_EML_SEEDS, TOKENS), min_size=1, max_size=4))
def test_mbox_of_mutated_messages(messages):
    data = b"".join(b"From sender@example.com Mon Jan  1 00:00:00 2018\n" + m + b"\n" for m in messages)
    ex = _extract(MboxExtractor(), data, "fuzz.mbox")
    assert ex is None or ex.kind == "mailbox"


def _zip_seed(method: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("a.txt", b"first member " * 20)
        z.writestr("dir/b.eml", _EML_SEEDS[0][:2000] if _EML_SEEDS else b"From: a@b\n\nx\n")
        z.writestr("c/../../d.txt", b"escape attempt")
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as zi:
            zi.writestr("inner.txt", b"inner member")
        z.writestr("inner.zip", inner.getvalue())
    return buf.getvalue()


_ZIP_SEEDS = [_zip_seed(zipfile.ZIP_DEFLATED), _zip_seed(zipfile.ZIP_STORED)]
_ZIP_TOKENS = [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"/../"]


@FUZZ
@given(mutated(_ZIP_SEEDS, _ZIP_TOKENS))
def test_zip_extractor_mutated_zips(data):
    ex = _extract(ZipExtractor(), data, "fuzz.zip")
    if ex is not None:
        assert ex.kind == "archive"
        for child in ex.children:
            assert ".." not in Path(child.name).parts and not child.name.startswith("/")

"""Text-layer PDFs, plain text and HTML from the corpus through the real pipeline (no OCR needed)."""

from __future__ import annotations

import json
import shutil

import pytest

from archive import SearchQuery
from conftest import corpus_file

TEXT_PDFS = {
    "pdf-text/alaveteli_psni.pdf": (2, "en", ["FREEDOM OF INFORMATION REQUEST", "F-2010-00325"]),
    "pdf-text/alaveteli_tfl.pdf": (1, "en", ["Your right to appeal", "foi@tfl.gov.uk", "SW1H 0TL"]),
    "pdf-text/pdfminer_dmca.pdf": (18, "en", ["THE DIGITAL MILLENNIUM COPYRIGHT ACT OF 1998"]),
    "pdf-text/pdfminer_issue_566_test_2.pdf": (1, "zh-Hans", ["中国饮料有限公司"]),
    "pdf-text/pdfplumber_scotus-transcript-p1.pdf": (1, "en", ["IN THE SUPREME COURT OF THE UNITED STATES"]),
    "pdf-text/ingest-file_106972554.pdf": (3, "en", ["HC/S 865/2018", "REX LAM PAKI"]),
    "pdf-text/pdfminer_zen_of_python_corrupted.pdf": (1, "en", ["Beautiful is better than ugly."]),
    "pdf-text/pdfplumber_nics-background-checks-2015-11-rotated.pdf": (
        1,
        "en",
        ["NICS Firearm Background Checks"],
    ),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from archive import Archive

    root = tmp_path_factory.mktemp("text-archive")
    files = [corpus_file(rel) for rel in TEXT_PDFS]
    files += [
        corpus_file("other/ingest-file_non_utf.txt"),
        corpus_file("other/tika_zh_langdetect.txt"),
        corpus_file("other/alaveteli_iso8859_2_email.html"),
    ]
    with Archive(root) as a:
        report = a.ingest(files, collection="release-1")
        a.ingest([corpus_file("pdf-text/pdfminer_issue_566_test_1.pdf")], collection="release-2")
        yield a, report


def _doc_by_name(archive, name):
    docs = archive.store.documents("filename=?", (name,))
    assert len(docs) == 1, docs
    return archive.document(docs[0]["id"])


@pytest.mark.parametrize("rel", list(TEXT_PDFS))
def test_text_pdfs_pages_language_and_phrases(loaded, rel):
    archive, _ = loaded
    pages, lang, phrases = TEXT_PDFS[rel]
    doc = _doc_by_name(archive, rel.split("/")[-1])
    assert doc["status"] == "done", doc["error_reason"]
    assert doc["page_count"] == pages == len(doc["pages"])
    assert doc["lang"] == lang
    text = "\n".join(p["text"] for p in doc["pages"])
    flat = " ".join(text.split())
    for phrase in phrases:
        assert phrase in flat
    assert not any(p["ocr"] for p in doc["pages"])  # a real text layer is never OCR'd


def test_pdf_metadata_title(loaded):
    archive, _ = loaded
    doc = _doc_by_name(archive, "alaveteli_psni.pdf")
    assert doc["title"] == "The Charity Common Purpose and the PSNI"


def test_soft_hyphens_removed_from_dates(loaded):
    archive, _ = loaded
    doc = _doc_by_name(archive, "ingest-file_106972554.pdf")
    assert "\u00ad" not in doc["pages"][0]["text"]


def test_charsets_of_text_and_html(loaded):
    archive, _ = loaded
    german = _doc_by_name(archive, "ingest-file_non_utf.txt")
    assert "Großbritanniens größter Partei" in german["pages"][0]["text"]
    assert german["lang"] == "de"
    albanian = _doc_by_name(archive, "alaveteli_iso8859_2_email.html")
    assert "Faleminderit per kerkesen tënde." in albanian["pages"][0]["text"]
    zh = _doc_by_name(archive, "tika_zh_langdetect.txt")
    assert zh["lang"] == "zh-Hans"
    assert "Robert MacNaughton" in "".join(p["text"] for p in zh["pages"])


def test_phrase_and_boolean_search(loaded):
    archive, _ = loaded
    r = archive.search(SearchQuery('"common purpose" payments'))
    assert {h.filename for h in r.hits} == {"alaveteli_psni.pdf"}
    assert "<mark>" in r.hits[0].snippet
    either = archive.search(SearchQuery("MacNaughton OR Corbyn"))
    assert {h.filename for h in either.hits} == {"tika_zh_langdetect.txt", "ingest-file_non_utf.txt"}
    without = archive.search(SearchQuery("(MacNaughton OR Corbyn) NOT labour"))
    assert {h.filename for h in without.hits} == {"tika_zh_langdetect.txt"}
    prefix = archive.search(SearchQuery("millenn*"))
    assert {h.filename for h in prefix.hits} == {"pdfminer_dmca.pdf"}


def test_chinese_two_character_words_are_found(loaded):
    archive, _ = loaded
    r = archive.search(SearchQuery("饮料"))
    assert {h.filename for h in r.hits} == {"pdfminer_issue_566_test_2.pdf"}
    assert "<mark>饮料</mark>" in r.hits[0].snippet
    film = archive.search(SearchQuery("电影"))
    assert {h.filename for h in film.hits} == {"tika_zh_langdetect.txt"}


def test_filters_and_ranking(loaded):
    archive, _ = loaded
    r = archive.search(
        SearchQuery("copyright", filters={"lang": ["en"]}, facets=("collection", "lang", "kind"))
    )
    assert r.total >= 10
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True)
    assert dict(r.facets["kind"]) == {"pdf": r.total}
    zh = archive.search(SearchQuery("buyer", filters={"collection": ["release-2"]}))
    assert [h.filename for h in zh.hits] == ["pdfminer_issue_566_test_1.pdf"]
    assert archive.search(SearchQuery("buyer", filters={"collection": ["release-1"]})).total == 0
    assert archive.search(SearchQuery("饮料", filters={"lang": ["zh"]})).total == 1
    assert archive.search(SearchQuery("饮料", filters={"lang": ["en"]})).total == 0


def test_snippet_escapes_document_text(tmp_path, archive):
    evil = tmp_path / "evil.html"
    evil.write_text("<p>payload &lt;script&gt;alert(1)&lt;/script&gt; <b>bold</b> secret plan</p>")
    archive.ingest([evil])
    hit = archive.search(SearchQuery("secret")).hits[0]
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert "<mark>secret</mark>" in hit.snippet


def test_broken_and_encrypted_pdfs_are_recorded_and_batch_goes_on(foi, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for rel in (
        "pdf-text/ocrmypdf_invalid.pdf",
        "pdf-text/pdfminer_rc4-40.pdf",
        "pdf-text/alaveteli_tfl.pdf",
    ):
        shutil.copy(corpus_file(rel), folder)
    (folder / "mystery.bin").write_bytes(bytes(range(256)) * 4)
    result = foi("ingest", str(folder), "--json", ok=False)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ingested"] == 1 and report["failed"] == 3
    reasons = {f["path"]: (f["stage"], f["reason"]) for f in report["failures"]}
    assert (
        reasons["ocrmypdf_invalid.pdf"][0] == "extract" and "broken PDF" in reasons["ocrmypdf_invalid.pdf"][1]
    )
    assert "password required" in reasons["pdfminer_rc4-40.pdf"][1]
    assert "unsupported file type" in reasons["mystery.bin"][1]
    status = json.loads(foi("status", "--json").output)
    assert status["by_status"] == {"done": 1, "failed": 3}
    assert {f["stage"] for f in status["failures"]} == {"extract"}
    # The good document is searchable and the originals of the bad ones are kept.
    assert json.loads(foi("search", "appeal", "--json").output)["total"] == 1
    shown = json.loads(foi("show", str(report["failures"][0]["document"]), "--json").output)
    assert shown["status"] == "failed" and shown["stages"]["extract"]["status"] == "failed"


def test_password_opens_encrypted_pdf(foi):
    result = foi("ingest", str(corpus_file("pdf-text/pdfminer_rc4-40.pdf")), "--password", "foo", "--json")
    doc_id = json.loads(result.output)["documents"][0]
    shown = json.loads(foi("show", str(doc_id), "--json").output)
    assert "Secret!" in shown["pages"][0]["text"]


def test_reingest_adds_nothing(foi):
    path = str(corpus_file("pdf-text/alaveteli_psni.pdf"))
    first = json.loads(foi("ingest", path, "--json").output)
    again = json.loads(foi("ingest", path, "--json").output)
    assert first["ingested"] == 1 and again == {**again, "ingested": 0, "duplicates": 1}
    status = json.loads(foi("status", "--json").output)
    assert status["documents"] == 1 and status["pages"] == 2 and status["indexed_pages"] == 2


def test_cli_search_json_shape(foi):
    foi("ingest", str(corpus_file("pdf-text/alaveteli_tfl.pdf")), "--collection", "tfl")
    out = json.loads(foi("search", "appeal", "--json", "--limit", "5", "--collection", "tfl").output)
    hit = out["hits"][0]
    assert set(hit) >= {"document_id", "title", "collection", "kind", "language", "page", "snippet", "score"}
    assert (hit["collection"], hit["kind"], hit["language"], hit["page"]) == ("tfl", "pdf", "en", 1)
    text = foi("search", "appeal").output
    assert "[appeal]" in text.lower()
    bad = foi("search", "NOT appeal", ok=False)
    assert bad.exit_code == 3


def test_result_cache_sees_new_documents(archive, tmp_path):
    first = tmp_path / "one.txt"
    first.write_text("harbour inspection")
    archive.ingest([first])
    assert archive.search(SearchQuery("harbour")).total == 1
    second = tmp_path / "two.txt"
    second.write_text("another harbour report")
    archive.ingest([second])
    assert archive.search(SearchQuery("harbour")).total == 2  # not the cached 1


def test_cli_pages_through_results_with_the_cursor(foi, tmp_path):
    for i in range(5):
        (tmp_path / f"memo{i}.txt").write_text(f"memo {i} about the harbour survey")
    foi("ingest", str(tmp_path))
    seen: list[str] = []
    args = ["search", "harbour", "--json", "--limit", "2", "--sort", "date"]
    out = json.loads(foi(*args).output)
    while True:
        seen += [h["filename"] for h in out["hits"]]
        if not out["next_cursor"]:
            break
        out = json.loads(foi(*args, "--cursor", json.dumps(out["next_cursor"])).output)
    assert sorted(seen) == [f"memo{i}.txt" for i in range(5)]
    assert foi("search", "harbour", "--cursor", "{oops", ok=False).exit_code == 3

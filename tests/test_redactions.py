"""Redactions (issue #18): boxes found at ingest on text PDFs and scans, text under bad boxes kept
apart and out of search, exemptions on boxes, the publication check, the search filters on both
backends, the CSV export.

The PDFs are written here with the generator of eval/make_redactions.py (hand-made content
streams: we know where every box and word is); the scans are drawn with Pillow.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import es_fixtures
import pytest
from PIL import Image, ImageDraw, ImageFont

from archive.access import PUBLIC
from archive.search import SearchQuery

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from make_redactions import LATIN_FONT, PAGE_H, _latin_width, _pdf_string, write_pdf  # noqa: E402

es_url = es_fixtures.es_url  # fixture


def _line(y: float, words: list[tuple[str, str]]) -> list[str]:
    """Content for one line of 11 pt Helvetica at height y: words with a mode each: "text" drawn,
    "bad" drawn then boxed over, "good" left out and boxed, "label" left out, boxed, with
    "s.40(2)" printed on the box in white."""
    ops: list[str] = []
    x = 72.0
    space = _latin_width(" ", 11)
    for word, mode in words:
        w = _latin_width(word, 11)
        if mode in ("text", "bad"):
            ops.append(f"BT 0 0 0 rg /F1 11 Tf {x:.2f} {y:.2f} Td {_pdf_string(word)} Tj ET")
        if mode != "text":
            ops.append(f"0 0 0 rg {x - 1:.2f} {y - 3:.2f} {w + 2:.2f} 15 re f")
        if mode == "label":
            ops.append(f"BT 1 1 1 rg /F1 7 Tf {x + 2:.2f} {y + 1:.2f} Td (s.40\\(2\\)) Tj ET")
        x += w + space
    return ops


def redacted_pdf(path: Path) -> Path:
    """Two pages. Page 1: a bad box over "Zebulon Quaggle", a good one where "Pettigrew" was (with
    "s.40(2)" on it). Page 2: a dark heading band with its title on it (not a redaction) and an
    unapplied redaction annotation over "Marchbanks"."""
    page1 = [
        *_line(
            PAGE_H - 100,
            [
                ("Request", "text"),
                ("for", "text"),
                ("information:", "text"),
                ("the", "text"),
                ("officer", "text"),
            ],
        ),
        *_line(PAGE_H - 130, [("Zebulon", "bad"), ("Quaggle", "bad"), ("approved", "text"), ("the", "text")]),
        *_line(
            PAGE_H - 160,
            [("Contact", "text"), ("Pettigrewsson", "label"), ("about", "text"), ("it.", "text")],
        ),
        *_line(
            PAGE_H - 190,
            [
                ("Freedom", "text"),
                ("of", "text"),
                ("Information", "text"),
                ("Act", "text"),
                ("2000.", "text"),
            ],
        ),
    ]
    band = [
        f"0.1 0.1 0.15 rg 60 {PAGE_H - 110} 470 30 re f",
        f"BT 1 1 1 rg /F1 16 Tf 72 {PAGE_H - 100} Td (Response to request FOI-2024-0193 on dredging) Tj ET",
    ]
    page2 = [
        *band,
        *_line(
            PAGE_H - 160, [("Minutes", "text"), ("taken", "text"), ("by", "text"), ("Marchbanks", "text")]
        ),
    ]
    x = 72 + sum(_latin_width(w + " ", 11) for w in ("Minutes", "taken", "by"))
    annot = (
        f"<< /Type /Annot /Subtype /Redact /Rect [{x - 1:.2f} {PAGE_H - 163:.2f} "
        f"{x + _latin_width('Marchbanks', 11) + 1:.2f} {PAGE_H - 148:.2f}] /IC [0 0 0] >>"
    )
    write_pdf(path, ["\n".join(page1), "\n".join(page2)], [[], [annot]])
    return path


@pytest.fixture(scope="module")
def redacted_archive(tmp_path_factory):
    """A `release` collection with the redacted PDF and a clean letter naming a person."""
    from archive import Archive

    root = tmp_path_factory.mktemp("redactions")
    files = root / "files"
    files.mkdir()
    pdf = redacted_pdf(files / "release.pdf")
    letter = files / "letter.txt"
    letter.write_text(
        "Dear Ms Jones,\nPlease write to alice.jones@example.org or to foi@example.gov.uk, "
        "or call 07700 900123.\nYours, the FOI team\n",
        encoding="utf-8",
    )
    with Archive(root / "archive") as a:
        report = a.ingest([pdf, letter], collection="release")
        assert report.ingested == 2, report.as_dict()
    return root / "archive"


def _doc(a, filename: str) -> dict:
    return next(d for d in a.store.documents("1") if d["filename"] == filename)


def test_vector_boxes_bad_redactions_and_exemptions(redacted_archive):
    from archive import Archive

    with Archive(redacted_archive) as a:
        doc = _doc(a, "release.pdf")
        summary = doc["metadata"]["redactions"]
        assert summary["boxes"] == 4 and summary["bad"] == 3 and summary["pages"] == 2, summary
        assert summary["by_kind"] == {"annotation": 1, "vector": 3}
        boxes = a.redactions(doc["id"])
        assert all("hidden_text" not in b for b in boxes)
        labelled = [b for b in boxes if b["label"]]
        assert len(labelled) == 1 and labelled[0]["label"] == "s.40(2)"
        assert labelled[0]["exemption"] == "FOIA s40(2)" and labelled[0]["exemption_from"] == "box"
        assert not labelled[0]["bad"]
        # Boxes are in the text layer's pixels (100 dpi): the bad one sits on line 2 of page 1.
        bad_p1 = [b for b in boxes if b["bad"] and b["page"] == 1]
        assert len(bad_p1) == 2
        left, top, width, height = bad_p1[0]["bbox"]
        assert abs(top - (130 - 12) * 100 / 72) < 4 and abs(left - 71 * 100 / 72) < 3 and height == 21

        shown = a.redactions(doc["id"], show_hidden=True)
        hidden = {b["hidden_text"] for b in shown if b["bad"]}
        assert hidden == {"Zebulon", "Quaggle", "Marchbanks"}
        # Only for those who may write to the collection: a public visitor never sees it.
        assert all("hidden_text" not in b for b in a.redactions(doc["id"], viewer=PUBLIC, show_hidden=True))
        # The recovered words left the page text (marked) and are not searchable.
        pages = a.store.pages(doc["id"])
        assert (
            "Quaggle" not in pages[0]["text"] and "███" in pages[0]["text"] and "approved" in pages[0]["text"]
        )
        assert "Marchbanks" not in pages[1]["text"]
        assert a.search(SearchQuery("Quaggle")).total == 0
        assert a.search(SearchQuery("Marchbanks")).total == 0
        assert a.search(SearchQuery("approved")).total == 1
        # The dark heading band with its title is not a redaction; its page's share is measured.
        assert pages[1]["meta"]["redactions"]["boxes"] == 1
        assert 0 < summary["withheld"] < 0.2


def test_show_json_lists_boxes_and_hidden_text_only_on_request(redacted_archive, runner):
    from archive.cli import cli

    doc_id = "1"
    plain = runner.invoke(cli, ["--archive", str(redacted_archive), "show", doc_id, "--json"])
    data = json.loads(plain.output)
    assert len(data["redactions"]) == 4 and "Quaggle" not in plain.output
    hidden = runner.invoke(
        cli, ["--archive", str(redacted_archive), "show", doc_id, "--json", "--show-hidden-text"]
    )
    assert "Zebulon" in {b.get("hidden_text") for b in json.loads(hidden.output)["redactions"]}


def test_collection_check_finds_bad_redactions_and_personal_data(redacted_archive, runner):
    from archive import Archive
    from archive.cli import cli

    args = ["--archive", str(redacted_archive), "collections", "check", "release", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    kinds = [f["kind"] for f in findings]
    assert kinds.count("bad_redaction") == 3
    values = {f.get("value") for f in findings}
    assert "alice.jones@example.org" in values
    assert "foi@example.gov.uk" not in values  # a generic office address
    assert any(f["kind"] == "personal_phone" for f in findings)
    assert "Zebulon" not in result.output  # the check names the box, never the hidden text
    allowed = runner.invoke(cli, [*args, "--allow", "@example.org", "--allow", "+447700900123"])
    assert "alice.jones@example.org" not in allowed.output
    # The function a publish hook calls.
    with Archive(redacted_archive) as a:
        assert [f["kind"] for f in a.check_collection("release")] == kinds
        a.store.ensure_collection("empty")
    clean = runner.invoke(cli, ["--archive", str(redacted_archive), "collections", "check", "empty"])
    assert clean.exit_code == 0 and "0 findings" in clean.output
    # The same check runs before publishing (archive/publishing.py): refused without --force.
    refused = runner.invoke(cli, ["--archive", str(redacted_archive), "collections", "publish", "release"])
    assert refused.exit_code != 0 and "text is still in the file under a redaction box" in refused.output
    assert "Zebulon" not in refused.output
    with Archive(redacted_archive) as a:
        assert not a.collection("release")["published"]


def test_summary_and_csv_export(redacted_archive, runner):
    from archive.cli import cli

    base = ["--archive", str(redacted_archive), "redactions"]
    summary = json.loads(runner.invoke(cli, [*base, "summary", "release", "--json"]).output)
    assert summary["pages"] == 3 and summary["redactions"] == 4 and summary["bad_redactions"] == 3
    assert summary["by_exemption"] == {"FOIA s40(2)": 4}  # 1 printed on its box, 3 cited by the document
    rows = list(csv.reader(io.StringIO(runner.invoke(cli, [*base, "export", "release"]).output)))
    assert rows[0] == [
        "document",
        "filename",
        "page",
        "kind",
        "left",
        "top",
        "width",
        "height",
        "area",
        "exemption",
        "bad",
    ]
    assert len(rows) == 5 and sorted(r[10] for r in rows[1:]) == ["no", "yes", "yes", "yes"]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def backend_config(request, redacted_archive):
    """The archive's configuration for each search backend (Elasticsearch: a fresh index)."""
    from archive import Archive

    if request.param == "sqlite":
        yield {}
        return
    url = request.getfixturevalue("es_url")
    index = es_fixtures.new_index_name("redactions")
    config = {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}
    try:
        with Archive(redacted_archive, config) as a:
            assert all(a.index_document(d["id"]) for d in a.store.documents("page_count > 0"))
            a.flush_index()
            a.backend.refresh()
        yield config
    finally:
        es_fixtures.drop_index(url, index)


@pytest.fixture(scope="module")
def searched(backend_config, redacted_archive):
    from archive import Archive

    with Archive(redacted_archive, backend_config) as a:
        yield a


def _names(a, query: SearchQuery) -> list[tuple[str, int]]:
    res = a.search(query)
    return [(h.filename, h.page) for h in res.hits]


def test_filters_facets_and_sort_on_both_backends(searched):
    assert sorted(_names(searched, SearchQuery("redacted:yes"))) == [("release.pdf", 1), ("release.pdf", 2)]
    assert _names(searched, SearchQuery("redacted:no")) == [("letter.txt", 1)]
    assert len(_names(searched, SearchQuery("bad-redaction:yes"))) == 2
    assert _names(searched, SearchQuery("", filters={"bad_redaction": ["no"]})) == [("letter.txt", 1)]
    res = searched.search(SearchQuery("", facets=("redacted", "bad_redaction")))
    assert res.facets["redacted"] == [("yes", 2), ("no", 1)]
    assert res.facets["bad_redaction"] == [("yes", 2), ("no", 1)]
    assert _names(searched, SearchQuery("", sort="-withheld"))[0][0] == "release.pdf"
    assert _names(searched, SearchQuery("", sort="withheld"))[0] == ("letter.txt", 1)


def test_web_and_api_sort_by_most_withheld_and_redaction_facets_on_both_backends(
    backend_config, redacted_archive
):
    from web import create_app

    app = create_app(
        {"ARCHIVE_DIR": str(redacted_archive), "TESTING": True, "ARCHIVE_CONFIG": backend_config}
    )
    client = app.test_client()
    html = client.get("/?collection=release").get_data(as_text=True)
    assert 'href="?collection=release&amp;sort=-withheld">most withheld</a>' in html
    # The redaction facets are listed with their counts and lead to filters shown as chips.
    assert '<div class="facet" data-facet="redacted"><h2>redacted</h2>' in html
    assert '<div class="facet" data-facet="bad_redaction"><h2>bad redaction</h2>' in html
    assert 'href="?collection=release&amp;bad_redaction=yes">yes</a> <span class="meta">2</span>' in html
    assert 'href="?collection=release&amp;redacted=no">no</a> <span class="meta">1</span>' in html
    chosen = client.get("/?collection=release&bad_redaction=yes").get_data(as_text=True)
    assert "<span>bad redaction: <strong>yes</strong></span>" in chosen
    assert "release.pdf" in chosen and "letter.txt" not in chosen
    assert "<span>redacted: <strong>no</strong></span>" in client.get("/?redacted=no").get_data(as_text=True)
    most = client.get("/?collection=release&sort=-withheld").get_data(as_text=True)
    assert '<strong aria-current="true">most withheld</strong>' in most
    assert most.index("release.pdf") < most.index("letter.txt")
    # The API: the same order and the same facets.
    api = client.get(
        "/api/search?collection=release&sort=-withheld&facet=redacted&facet=bad_redaction"
    ).get_json()
    assert [h["filename"] for h in api["hits"]] == ["release.pdf", "release.pdf", "letter.txt"]
    yes_no = [{"value": "yes", "count": 2}, {"value": "no", "count": 1}]
    assert api["facets"]["redacted"] == yes_no and api["facets"]["bad_redaction"] == yes_no
    least = client.get("/api/search?collection=release&sort=withheld").get_json()
    assert least["hits"][0]["filename"] == "letter.txt"
    bad = client.get("/api/search?bad_redaction=yes").get_json()
    assert {h["filename"] for h in bad["hits"]} == {"release.pdf"} and bad["total"] == 2


def _scan(
    path: Path,
    boxes: list[tuple[int, int, int, int]],
    negatives: bool,
    frames: list[tuple[int, int, int, int]] = (),
) -> None:
    """A 200 dpi page of text with black boxes, white-out boxes (`frames`: the text painted white,
    a thin frame round it), and a table, a photo-like patch and a dark banner with a title when
    `negatives`; grey noise; saved as PNG."""
    import numpy as np

    img = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(LATIN_FONT, 30)
    for i in range(30):
        draw.text(
            (200, 500 + i * 55), "the minutes of the harbour board were approved in march", fill=0, font=font
        )
    for left, top, width, height in boxes:
        draw.rectangle([left, top, left + width - 1, top + height - 1], fill=0)
    for left, top, width, height in frames:
        draw.rectangle([left, top, left + width - 1, top + height - 1], fill=255, outline=0, width=3)
    if negatives:
        draw.rectangle([150, 150, 1500, 240], fill=40)
        draw.text(
            (200, 170), "FREEDOM OF INFORMATION RESPONSE", fill=255, font=ImageFont.truetype(LATIN_FONT, 44)
        )
        for r in range(5):
            draw.line([150, 280 + r * 40, 1500, 280 + r * 40], fill=0, width=3)
        for c in range(5):
            draw.line([150 + c * 337, 280, 150 + c * 337, 440], fill=0, width=3)
        rng = np.random.default_rng(1)
        patch = Image.fromarray(rng.integers(0, 120, (80, 100), dtype=np.uint8)).resize((400, 320))
        img.paste(patch, (1100, 1900))
    arr = np.asarray(img, dtype=np.int16) + np.random.default_rng(2).normal(0, 8, (2339, 1654)).astype(
        np.int16
    )
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, dpi=(200, 200))


def test_image_detector_finds_boxes_and_skips_tables_photos_banners(tmp_path):
    from archive.redactions.image import find_image_boxes

    wanted = [(600, 550, 420, 44), (300, 1155, 260, 44)]
    frame = (500, 1596, 300, 46)
    _scan(tmp_path / "p.png", wanted, negatives=True, frames=[frame])
    with Image.open(tmp_path / "p.png") as im:
        found = find_image_boxes(im, 200)
    got = [(b.left, b.top, b.width, b.height) for b in found]
    assert len(got) == 3, got
    wanted.append(frame)
    for (l1, t1, w1, h1), (l2, t2, w2, h2) in zip(sorted(got), sorted(wanted), strict=True):
        assert abs(l1 - l2) <= 4 and abs(t1 - t2) <= 4 and abs(w1 - w2) <= 8 and abs(h1 - h2) <= 8


@pytest.mark.tesseract
def test_scanned_pdf_boxes_come_from_the_image_ocr_rendered(tmp_path, monkeypatch):
    """An image-only PDF (a redacted page flattened): its boxes are found on the image OCR
    rendered, in the OCR word boxes' pixels; the page is rendered once, for OCR only."""
    import ocr
    from archive import Archive

    _scan(tmp_path / "p.png", [(600, 550, 420, 44)], negatives=False)
    with Image.open(tmp_path / "p.png") as im:
        im.save(tmp_path / "flat.pdf", resolution=200.0)
    calls = []
    real = ocr.render_pdf_page

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ocr, "render_pdf_page", counting)
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([tmp_path / "flat.pdf"], collection="scans")
        doc_id = report.documents[0]
        page = a.page(doc_id, 1)
        boxes = a.redactions(doc_id)
    assert len(calls) == 1
    assert page["ocr"] and "harbour" in page["text"]
    assert len(boxes) == 1 and boxes[0]["kind"] == "image" and not boxes[0]["bad"]
    left, top, width, height = boxes[0]["bbox"]
    scale = page["width"] / 1654  # the OCR image's pixels (rendered at the PDF's own resolution)
    assert abs(left - 600 * scale) < 6 and abs(top - 550 * scale) < 6 and abs(width - 420 * scale) < 10


def test_viewer_draws_boxes_marks_bad_ones_and_hides_text_by_default(redacted_archive):
    from web import create_app

    client = create_app({"ARCHIVE_DIR": str(redacted_archive), "TESTING": True}).test_client()
    html = client.get("/documents/1").get_data(as_text=True)
    assert html.count('class="box redaction bad"') == 3 and html.count('class="box redaction"') == 1
    assert "bad redaction: text is still in the file under 2 boxes" in html
    assert "Quaggle" not in html and "show text under boxes" in html
    assert 'class="box redaction' not in client.get("/documents/1?boxes=0").get_data(as_text=True)
    shown = client.get("/documents/1?hidden_text=1").get_data(as_text=True)
    assert '<span class="recovered">Quaggle</span>' in shown
    page = client.get("/collections/release").get_data(as_text=True)
    assert "3 pages, 4 redactions," in page and "3 bad redactions" in page and "FOIA s40(2) 4" in page
    rows = list(
        csv.reader(io.StringIO(client.get("/collections/release/redactions.csv").get_data(as_text=True)))
    )
    assert rows[0][:3] == ["document", "filename", "page"] and len(rows) == 5
    assert client.get("/collections/nothing/redactions.csv").status_code == 404


def test_api_lists_boxes_without_the_text_under_them(redacted_archive):
    from web import create_app

    client = create_app({"ARCHIVE_DIR": str(redacted_archive), "TESTING": True}).test_client()
    doc = client.get("/api/documents/1").get_json()
    assert len(doc["redactions"]) == 4 and sum(b["bad"] for b in doc["redactions"]) == 3
    page = client.get("/api/documents/1/pages/2").get_json()
    assert [b["kind"] for b in page["redactions"]] == ["annotation"]
    assert "Marchbanks" not in json.dumps(doc) + json.dumps(page)

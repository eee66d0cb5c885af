"""The JSON API against its own OpenAPI document, by schemathesis, on a live server.

`foi`'s Flask app is served by werkzeug on 127.0.0.1 over an archive of a few real documents from the
corpus, once on the embedded SQLite backend and once on the real Elasticsearch node. schemathesis
reads /api/openapi.json from the server and sends every /api operation generated requests: values
the document allows (positive) and values it forbids (negative), plus the real document ids. Every
response must not be a server error, must have a documented status and content type and must match
the documented schema (so a request outside the bounds gets the documented 400 error object).

Bounded: MAX_EXAMPLES per operation and mode (FOI_SCHEMATHESIS_EXAMPLES overrides), no shrinking
database; the number of requests made and their statuses are printed per backend (`pytest -s`).
"""

from __future__ import annotations

import collections
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import es_fixtures
import pytest

from archive import Archive
from conftest import corpus_file

# Hundreds of generated requests on a live server: not part of the fast loop (make test-fast).
pytestmark = pytest.mark.slow

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

es_url = es_fixtures.es_url

MAX_EXAMPLES = int(os.environ.get("FOI_SCHEMATHESIS_EXAMPLES", "100"))
DOCUMENTS = [
    "pdf-text/alaveteli_psni.pdf",
    "pdf-text/alaveteli_tfl.pdf",
    "pdf-text/pdfminer_issue_566_test_2.pdf",
    "email-eml/alaveteli_apple-mail-with-attachments.eml",
]
# Negative cases get the same checks: no 500, and a 400 (or 404, 414) as documented. Not schemathesis's
# negative_data_rejection: a query string makes every value a string, so many mutations ("year" as the
# number 0.25, "collection" as the boolean false) arrive as valid values, and it flags those.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class LiveServer:
    """The app on a free port of 127.0.0.1, in a thread (werkzeug's threaded server)."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="foi-live-server", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _served(root, config: dict[str, str] | None) -> Iterator[tuple[str, list[int]]]:  # type: ignore[no-untyped-def]
    from web import create_app

    with Archive(root / "archive", config) as a:
        report = a.ingest([corpus_file(rel) for rel in DOCUMENTS], collection="corpus")
        assert report.ingested >= len(DOCUMENTS)
        ids = [d["id"] for d in a.store.documents()]
    app = create_app({"ARCHIVE_DIR": str(root / "archive"), "ARCHIVE_CONFIG": config})
    server = LiveServer(app)
    try:
        yield server.url, ids
    finally:
        server.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def live(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    if request.param == "sqlite":
        yield from ((request.param, url, ids) for url, ids in _served(root, None))
        return
    url = request.getfixturevalue("es_url")
    index = es_fixtures.new_index_name("schemathesis")
    config = {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}
    try:
        yield from ((request.param, base, ids) for base, ids in _served(root, config))
    finally:
        es_fixtures.drop_index(url, index)


def test_every_api_route_is_in_the_openapi_document(live):
    import requests

    from web import create_app

    _, base, _ = live
    spec = requests.get(f"{base}/api/openapi.json", timeout=30).json()
    app = create_app({"ARCHIVE_DIR": "unused"})
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
            routes.add((path, frozenset(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})))
    documented = {(path, frozenset(item)) for path, item in spec["paths"].items()}
    assert routes == documented
    # Every operation says what each of its responses holds.
    for item in spec["paths"].values():
        for op in item.values():
            for code, response in op["responses"].items():
                assert response.get("content") or code == "414", code


def _run(
    operation: Any, strategy: Any, base: str, checks: list[Any], counts: collections.Counter[Any], label: str
) -> None:
    """Hypothesis over one strategy: each generated case is sent to the server and checked."""

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base, timeout=60)
        counts[(label, response.status_code)] += 1
        case.validate_response(response, checks=checks)

    run()


def test_the_api_keeps_its_openapi_document(live):
    backend, base, ids = live
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    counts: collections.Counter[Any] = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every operation of the document (schemathesis leaves out the document's own URL).
    assert {op.path for op in operations} == set(schema.raw_schema["paths"]) - {"/api/openapi.json"}
    for op in operations:
        label = f"{op.method.upper()} {op.path}"
        _run(
            op,
            op.as_strategy(generation_mode=GenerationMode.POSITIVE),
            base,
            CHECKS,
            counts,
            label + " positive",
        )
        if op.definition.raw.get("parameters"):  # (nothing to get wrong in an operation without any)
            _run(
                op,
                op.as_strategy(generation_mode=GenerationMode.NEGATIVE),
                base,
                CHECKS,
                counts,
                label + " negative",
            )
        names = {name for name in ("doc_id", "number") if f"{{{name}}}" in op.path}
        if "doc_id" in names:
            # The archive's own documents (and their first page), so 200s are checked too.
            fixed = st.sampled_from(ids).flatmap(
                lambda i, op=op, names=names: op.as_strategy(
                    path_parameters={"doc_id": i, **({"number": 1} if "number" in names else {})}
                )
            )
            _run(op, fixed, base, CHECKS, counts, label + " real ids")
    total = sum(counts.values())
    by_status = collections.Counter()
    for (_, status), n in counts.items():
        by_status[status] += n
    print(f"\nschemathesis on {backend}: {total} requests, by status {dict(sorted(by_status.items()))}")
    for (label, status), n in sorted(counts.items()):
        print(f"  {label}: {status} x {n}")
    assert 500 not in by_status and 200 in by_status and 400 in by_status
    assert total >= len(operations) * MAX_EXAMPLES // 2
    json.dumps(dict(by_status))  # (the figures are plain numbers)

"""One error mapping: JSON for /api, HTML for pages."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from archive import QueryError, SearchError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    def respond(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
        if _wants_json():
            return jsonify({"error": {"status": status, "title": title, "message": message}}), status
        # The search box of the error page keeps the query, so a query not understood can be corrected.
        q = request.args.get("q", "")
        return render_template("error.html", status=status, title=title, message=message, q=q), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        return respond(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError):  # type: ignore[no-untyped-def]
        return respond(400, "Query not understood", str(exc))

    @app.errorhandler(SearchError)
    def search_error(exc: SearchError):  # type: ignore[no-untyped-def]
        return respond(503, "Search engine unavailable", str(exc))

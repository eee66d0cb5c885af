"""Entities found by their aliases in any script, on both backends' shared path (SQLite here)."""

from __future__ import annotations

from archive import SearchQuery


def test_watchlist_entity_found_by_alias_without_splitting_the_facet(archive, tmp_path):
    letter = tmp_path / "minutes.txt"
    letter.write_text(
        "会议纪要：中国电子科技集团公司的代表访问了实验室。\nThe CETC delegation asked about sensors.\n"
    )
    archive.ingest([letter])
    canonical = "China Electronics Technology Group Corporation"
    for query in (f'entity:"{canonical}"', 'entity:"CETC"', 'entity:"中國電子科技集團公司"', "entity:cetc"):
        assert archive.search(SearchQuery(query)).total == 1, query
    facets = dict(archive.search(SearchQuery("sensors", facets=("entity",))).facets["entity"])
    assert facets[canonical] == 1 and "CETC" not in facets

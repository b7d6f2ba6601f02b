"""arXiv Atom and OpenAlex readers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from annotator.errors import InputError
from annotator.ingest import read_records
from annotator.ingest.openalex import rebuild_abstract
from annotator.ingest.records import PaperRecord

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def test_arxiv_entries():
    path = FIXTURES / "arxiv_feed.xml"
    gossip, grasp, missing = read_records(path)
    assert isinstance(gossip, PaperRecord) and isinstance(grasp, PaperRecord)
    assert gossip.arxiv_id == "2103.01234"  # version dropped
    assert gossip.title == "Sparse Gossip: Decentralised Training with Compressed Neighbour Updates"
    assert gossip.abstract == (
        "We study decentralised stochastic gradient descent in which every worker exchanges "
        "only a sparse sketch of its update with two neighbours. The sketch keeps the $k$ "
        "largest coordinates & an error-feedback buffer keeps the rest.\n\n"
        "On ring and torus topologies the method matches all-reduce accuracy."
    )
    assert [a.name for a in gossip.authors] == ["Mirela Quast", "Tomasz Ferreira", "Aiyana Brook", "Lena Okafor"]
    assert gossip.affiliations == ["ETH Zurich", "EPFL"]
    assert (gossip.category, gossip.categories) == ("cs.LG", ["cs.LG", "cs.DC", "math.OC"])
    assert gossip.published == date(2021, 3, 3)
    assert gossip.doi == "10.5555/sparse.gossip.2021"
    assert gossip.venue == "Proc. Imaginary Workshop on Optimisation 2021"
    assert gossip.source_ref == f"{path}:7"
    assert (grasp.category, grasp.doi, grasp.has_code) == ("cs.RO", None, None)
    assert isinstance(missing, InputError)
    assert (missing.line, missing.field) == (56, "summary")


def test_arxiv_refuses_entities_and_reports_broken_xml(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry>&a;</entry></feed>'
    )
    (err,) = read_records(bomb, fmt="arxiv")
    assert isinstance(err, InputError) and "DOCTYPE" in str(err)
    broken = tmp_path / "broken.xml"
    broken.write_text('<feed xmlns="http://www.w3.org/2005/Atom">\n<entry>\n</feed>\n')
    (err,) = read_records(broken, fmt="arxiv")
    assert isinstance(err, InputError) and err.line == 3


def test_arxiv_api_error_entry(tmp_path):
    path = tmp_path / "err.xml"
    path.write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        "<id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>"
        "<title>Error</title><summary>incorrect id format for 1234</summary></entry></feed>"
    )
    (err,) = read_records(path, fmt="arxiv")
    assert isinstance(err, InputError) and "incorrect id format" in str(err)


def test_openalex_api_page():
    path = FIXTURES / "openalex_page.json"
    gossip, ellipsis, no_abstract = read_records(path)
    assert gossip.abstract == "We study gossip training; sparse sparse gossip works."
    assert (gossip.openalex_id, gossip.doi, gossip.arxiv_id) == (
        "W4200000001",
        "10.5555/sparse.gossip.2021",
        "2103.01234",
    )
    assert [(a.name, a.openalex_id, a.orcid) for a in gossip.authors] == [
        ("Mirela Quast", "A5000000001", "0000-0002-0000-0001"),
        ("Tomasz Ferreira", "A5000000002", None),
        ("Aiyana Brook", "A5000000003", None),
        ("Lena Okafor", "A5000000004", None),
    ]
    assert gossip.affiliations == ["ETH Zurich", "EPFL"]
    assert (gossip.category, gossip.categories) == (
        "Distributed Optimization",
        ["Distributed Optimization", "Gradient Compression"],
    )
    assert (gossip.citations, gossip.published) == (37, date(2021, 3, 3))
    assert gossip.venue == "Imaginary Workshop on Optimisation"
    assert gossip.source_ref == f"{path}:4"
    assert ellipsis.abstract == "Ellipsis is frequent in conversational Quechua."  # tags stripped
    assert (ellipsis.category, ellipsis.doi, ellipsis.source_ref) == ("Computer science", None, f"{path}:32")
    assert isinstance(no_abstract, InputError)
    assert no_abstract.field == "abstract_inverted_index" and no_abstract.line == 44
    assert "W4200000003" in str(no_abstract) and "no abstract" in str(no_abstract)


@pytest.mark.parametrize("shape", ["single", "list", "lines"])
def test_openalex_other_shapes(tmp_path, shape):
    works = json.loads((FIXTURES / "openalex_page.json").read_text())["results"][:2]
    path = tmp_path / "works.json"
    if shape == "single":
        path.write_text(json.dumps(works[0], indent=2))
    elif shape == "list":
        path.write_text("[\n" + ",\n".join(json.dumps(w) for w in works) + "\n]\n")
    else:
        path.write_text("\n".join(json.dumps(w) for w in works) + "\n")
    records = list(read_records(path, fmt="openalex"))
    assert all(isinstance(r, PaperRecord) for r in records)
    assert [r.openalex_id for r in records] == ["W4200000001", "W4200000002"][: len(records)]
    expected_lines = {"single": [1], "list": [2, 3], "lines": [1, 2]}[shape]
    assert [int(r.source_ref.rsplit(":", 1)[1]) for r in records] == expected_lines


def test_openalex_broken_json_names_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"results": [\n{"id": "W1",\n"title": }\n]}')
    (err,) = read_records(path, fmt="openalex")
    assert isinstance(err, InputError) and err.line == 3


def test_rebuild_abstract_orders_positions():
    assert rebuild_abstract({"b": [1, 3], "a": [0], "c": [2]}) == "a b c b"
    with pytest.raises(ValueError):
        rebuild_abstract({"a": "zero"})

"""Storing records: rows written, idempotent re-ingest, merging, failures."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)
from conftest import SEED_PAGE
from sqlalchemy import text
from sqlmodel import func, select

from annotator.db import open_db
from annotator.db.engine import session_for
from annotator.db.models import Affiliation, Author, AuthorMetric, Authorship, Paper, PaperAffiliation, PaperMetric
from annotator.ingest import ingest_paths, read_records, store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SEED = SEED_PAGE  # an author's profile page from a paper feed, 45 papers


@pytest.fixture
def engine(tmp_path):
    engine = open_db(str(tmp_path / "ingest.db"))
    yield engine
    engine.dispose()


def _count(engine, model) -> int:
    with session_for(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _paper(engine, title: str) -> Paper:
    with session_for(engine) as s:
        return s.exec(select(Paper).where(Paper.title == title)).one()


def _authors_of(engine, paper_id: int) -> list[str]:
    with session_for(engine) as s:
        rows = s.exec(
            select(Author.name)
            .join(Authorship, Authorship.author_id == Author.id)
            .where(Authorship.paper_id == paper_id)
            .order_by(Authorship.position)
        )
        return list(rows)


def _affiliations_of(engine, paper_id: int) -> list[str]:
    with session_for(engine) as s:
        rows = s.exec(
            select(Affiliation.name)
            .join(PaperAffiliation, PaperAffiliation.affiliation_id == Affiliation.id)
            .where(PaperAffiliation.paper_id == paper_id)
            .order_by(PaperAffiliation.position)
        )
        return list(rows)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_seed_page_stored_field_by_field(engine):
    summary = ingest_paths(engine, [SEED])
    assert (summary.new, summary.updated, summary.unchanged, summary.rejected) == (45, 0, 0, 0)
    assert summary.errors == [] and len(summary.paper_ids) == 45
    with session_for(engine) as s:
        papers = s.exec(select(Paper).order_by(Paper.id)).all()
    assert Counter(p.category for p in papers) == {"CL": 36, "LG": 5, "AI": 2, "CV": 1, "SI": 1}
    assert sum(p.has_code for p in papers) == 24
    assert all(json.loads(p.categories) == [p.category] for p in papers)
    assert all(p.source_format == "feedpage" and p.authors_truncated for p in papers)
    first = papers[0]
    assert first.published == date(2023, 7, 15) and first.source_ref == f"{SEED}:12"
    assert first.key.startswith("title:ca lora adapting existing lora") and first.key.endswith("|weilin zhao")
    records = [r for r in read_records(SEED)]
    assert first.content_hash == records[0].content_hash() and first.abstract == records[0].abstract
    assert _authors_of(engine, first.id) == ["Weilin Zhao", "Yuxiang Huang", "Xu Han"]
    label = _paper(engine, "Automatic Label Sequence Generation for Prompting Sequence-to-sequence Models")
    assert _affiliations_of(engine, label.id) == ["princeton", "tencent-ai"]
    assert _affiliations_of(engine, _paper(engine, "A Roadmap for Big Model").id) == ["bytedance", "pku"]
    with session_for(engine) as s:
        (zhang,) = s.exec(select(Author).where(Author.norm_name == "zhengyan zhang")).all()
        assert zhang.primary_category == "CL"
        zhang_papers = s.exec(
            select(func.count()).select_from(Authorship).where(Authorship.author_id == zhang.id)
        ).one()
        (metric,) = s.exec(select(AuthorMetric)).all()
        affiliation_names = set(s.exec(select(Affiliation.name)))
    assert zhang_papers == 28  # one author row, linked wherever the page lists him
    assert (
        metric.author_id,
        metric.source,
        metric.h_index,
        metric.citations,
        metric.works_count,
        metric.reported_novelty,
        metric.reported_ai_score,
    ) == (zhang.id, "feedpage", 44, 24889, 45, 54.0, 55.0)
    assert affiliation_names == {"tsinghua", "princeton", "tencent-ai", "bytedance", "pku", "stanford"}
    assert summary.headers[0].name == "Zhengyan Zhang" and summary.metrics_added == 1


def test_reingest_is_idempotent(engine):
    page = FIXTURES / "feedpage_small.txt"
    first = ingest_paths(engine, [page])
    counts = [_count(engine, m) for m in (Paper, Author, Authorship, Affiliation, PaperAffiliation, AuthorMetric)]
    again = ingest_paths(engine, [page])
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.new, again.updated, again.unchanged, again.metrics_added) == (0, 0, 3, 0)
    assert again.paper_ids == first.paper_ids
    assert [
        _count(engine, m) for m in (Paper, Author, Authorship, Affiliation, PaperAffiliation, AuthorMetric)
    ] == counts
    assert counts == [3, 4, 7, 4, 4, 1]


def test_changed_abstract_updates_row_and_hash(engine, tmp_path):
    page = tmp_path / "page.txt"
    shutil.copy(FIXTURES / "feedpage_small.txt", page)
    ingest_paths(engine, [page])
    before = _paper(engine, "Grasping by Asking: Language-Conditioned Manipulation with Clarification Questions")
    page.write_text(
        page.read_text()
        .replace("halves failed grasps", "cuts failed grasps by 60%")
        .replace("AI Score48", "AI Score50")
    )
    summary = ingest_paths(engine, [page])
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 2)
    after = _paper(engine, before.title)
    assert after.id == before.id and "cuts failed grasps by 60%" in after.abstract
    assert after.content_hash != before.content_hash
    assert after.updated_at >= before.updated_at
    with session_for(engine) as s:
        scores = s.exec(select(AuthorMetric.reported_ai_score).order_by(AuthorMetric.id)).all()
    assert scores == [48.0, 50.0]  # a changed header adds a snapshot


def test_same_paper_from_three_formats_merges(engine):
    ingest_paths(engine, [FIXTURES / "feedpage_small.txt"])
    title = "Sparse Gossip: Decentralised Training with Compressed Neighbour Updates"
    feed_row = _paper(engine, title)
    arxiv = ingest_paths(engine, [FIXTURES / "arxiv_feed.xml"])
    assert (arxiv.new, arxiv.updated, arxiv.rejected) == (0, 2, 1)  # both matched the page's
    merged = _paper(engine, title)
    assert merged.id == feed_row.id
    # Another format fills gaps and completes the author list; the page keeps its content.
    assert (merged.arxiv_id, merged.doi, merged.key) == ("2103.01234", "10.5555/sparse.gossip.2021", "arxiv:2103.01234")
    assert merged.venue == "Proc. Imaginary Workshop on Optimisation 2021"
    assert (merged.category, merged.categories, merged.has_code) == ("LG", '["LG"]', True)
    assert (merged.abstract, merged.content_hash) == (feed_row.abstract, feed_row.content_hash)
    assert (merged.source_format, merged.source_ref) == ("feedpage", feed_row.source_ref)
    assert merged.authors_truncated is False
    assert _authors_of(engine, merged.id) == ["Mirela Quast", "Tomasz Ferreira", "Aiyana Brook", "Lena Okafor"]
    assert _affiliations_of(engine, merged.id) == ["eth-zurich", "epfl", "inria"]
    grasp = _paper(engine, "Grasping by Asking: Language-Conditioned Manipulation with Clarification Questions")
    assert grasp.arxiv_id == "2401.04567"
    assert _authors_of(engine, grasp.id) == ["Jun-seo Park", "Mirela Quast"]  # not shortened

    openalex = ingest_paths(engine, [FIXTURES / "openalex_page.json"])
    assert (openalex.new, openalex.updated, openalex.rejected) == (0, 2, 1)
    assert openalex.metrics_added == 2
    merged = _paper(engine, title)
    assert merged.openalex_id == "W4200000001"
    assert _count(engine, Paper) == 3
    with session_for(engine) as s:
        (quast,) = s.exec(select(Author).where(Author.norm_name == "mirela quast")).all()
        (metric,) = s.exec(select(PaperMetric).where(PaperMetric.paper_id == merged.id)).all()
    assert (quast.orcid, quast.openalex_id, quast.primary_category) == ("0000-0002-0000-0001", "A5000000001", "LG")
    assert (metric.source, metric.citations) == ("openalex", 37)

    sources = [FIXTURES / "feedpage_small.txt", FIXTURES / "arxiv_feed.xml", FIXTURES / "openalex_page.json"]
    again = ingest_paths(engine, sources + sources[::-1])
    assert (again.new, again.updated, again.unchanged, again.metrics_added) == (0, 0, 14, 0)
    assert _authors_of(engine, merged.id) == ["Mirela Quast", "Tomasz Ferreira", "Aiyana Brook", "Lena Okafor"]


def test_owning_format_overwrites(engine, tmp_path):
    path = _jsonl(
        tmp_path / "o.jsonl",
        [{"arxiv_id": "2103.01234", "title": "Old title", "abstract": "Old.", "category": "cs.LG"}],
    )
    ingest_paths(engine, [path])
    ingest_paths(engine, [FIXTURES / "arxiv_feed.xml"])  # another format: fills, keeps content
    assert _paper(engine, "Old title").abstract == "Old."
    _jsonl(path, [{"arxiv_id": "2103.01234", "title": "New title", "abstract": "New.", "category": "cs.DC"}])
    summary = ingest_paths(engine, [path])
    assert summary.updated == 1
    row = _paper(engine, "New title")
    assert (row.abstract, row.category, row.doi) == ("New.", "cs.DC", "10.5555/sparse.gossip.2021")


def test_citation_snapshots_are_idempotent(engine, tmp_path):
    path = _jsonl(tmp_path / "c.jsonl", [{"id": "p1", "title": "T", "abstract": "A", "citations": 3}])
    ingest_paths(engine, [path])
    second = ingest_paths(engine, [path])
    assert (second.unchanged, second.metrics_added) == (1, 0)
    _jsonl(path, [{"id": "p1", "title": "T", "abstract": "A", "citations": 9}])
    third = ingest_paths(engine, [path])
    assert (third.unchanged, third.metrics_added) == (1, 1)
    with session_for(engine) as s:
        rows = s.exec(select(PaperMetric.source, PaperMetric.citations).order_by(PaperMetric.id)).all()
    assert rows == [("jsonl", 3), ("jsonl", 9)]


def test_authors_matched_by_ids_before_names(engine, tmp_path):
    rows = [
        {
            "id": "a",
            "title": "One",
            "abstract": "A",
            "authors": [{"name": "J. Smith", "orcid": "https://orcid.org/0000-0000-0000-0001"}],
        },
        {
            "id": "b",
            "title": "Two",
            "abstract": "A",
            "authors": [{"name": "John Smith", "orcid": "0000-0000-0000-0001"}],
        },
        {
            "id": "c",
            "title": "Three",
            "abstract": "A",
            "authors": [{"name": "John Smith", "openalex_id": "A2"}, "Ana Lima", "Ana  Lima"],
        },
        {"id": "d", "title": "Four", "abstract": "A", "authors": [{"name": "John Smith", "openalex_id": "A3"}]},
    ]
    summary = ingest_paths(engine, [_jsonl(tmp_path / "a.jsonl", rows)])
    assert summary.new == 4
    with session_for(engine) as s:
        authors = s.exec(select(Author.norm_name, Author.orcid, Author.openalex_id).order_by(Author.id)).all()
    # "John Smith" of row c takes the id-less name match (the ORCID author is "j smith");
    # row d's OpenAlex id clashes with it, so d is a different person.
    assert authors == [
        ("j smith", "0000-0000-0000-0001", None),
        ("john smith", None, "A2"),
        ("ana lima", None, None),
        ("john smith", None, "A3"),
    ]
    assert _authors_of(engine, summary.paper_ids[2]) == ["John Smith", "Ana Lima", "Ana Lima"]


def test_rejected_rows_change_nothing_and_duplicates_rejected(engine, tmp_path):
    good = {"id": "p1", "title": "Kept Title", "abstract": "Kept abstract.", "authors": ["A B"]}
    ingest_paths(engine, [_jsonl(tmp_path / "one.jsonl", [good])])
    bad = [
        dict(good, abstract=""),
        {"id": "p2", "title": "New", "abstract": "Fresh."},
        {"id": "p2", "title": "New again", "abstract": "Dup."},
    ]
    summary = ingest_paths(engine, [_jsonl(tmp_path / "two.jsonl", bad)])
    assert (summary.new, summary.updated, summary.rejected) == (1, 0, 2)
    assert [(e.line, e.field) for e in summary.errors] == [(1, "abstract"), (3, "id")]
    kept = _paper(engine, "Kept Title")
    assert kept.abstract == "Kept abstract." and kept.source_ref.endswith("one.jsonl:1")
    assert _count(engine, Paper) == 2


def test_eval_flag_is_sticky(engine, tmp_path):
    path = _jsonl(tmp_path / "e.jsonl", [{"id": "iclr:1", "title": "T", "abstract": "A", "venue": "ICLR"}])
    ingest_paths(engine, [path], is_eval=True, eval_suite="iclr2022")
    again = ingest_paths(engine, [path])
    assert again.unchanged == 1
    row = _paper(engine, "T")
    assert (row.is_eval, row.eval_suite, row.external_id, row.key) == (True, "iclr2022", "iclr:1", "ext:iclr:1")


def test_database_refusal_rejects_only_that_record(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BATCH", 2)
    with engine.begin() as conn:  # the database refuses any paper with a second affiliation
        conn.execute(
            text(
                "CREATE TRIGGER no_second_affiliation BEFORE INSERT ON paper_affiliations "
                "WHEN NEW.position > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    rows = [
        {
            "id": f"p{i}",
            "title": f"Paper {i}",
            "abstract": "A",
            "authors": [f"Author {i}"],
            "affiliations": ["U1", "U2"] if i == 3 else ["U1"],
        }
        for i in range(5)
    ]
    summary = ingest_paths(engine, [_jsonl(tmp_path / "t.jsonl", rows)])
    assert (summary.new, summary.rejected) == (4, 1)
    (error,) = summary.errors
    assert error.line == 4 and "could not be stored" in str(error) and "refused" in str(error)
    with session_for(engine) as s:
        titles = s.exec(select(Paper.title).order_by(Paper.id)).all()
        authors = s.exec(select(Author.name)).all()
    assert titles == ["Paper 0", "Paper 1", "Paper 2", "Paper 4"]
    assert "Author 3" not in authors  # nothing of the refused paper is left
    assert _count(engine, Authorship) == 4 and _count(engine, PaperAffiliation) == 4


def test_many_rows_across_batches(engine, tmp_path):
    rows = [
        {
            "id": f"r{i}",
            "title": f"Row {i}",
            "abstract": f"Abstract {i}.",
            "authors": [f"Person {i % 50}", f"Other {i % 7}"],
            "affiliations": [f"Lab {i % 3}"],
            "citations": i % 4,
        }
        for i in range(2500)
    ]
    path = _jsonl(tmp_path / "many.jsonl", rows)
    first = ingest_paths(engine, [path])
    assert (first.new, first.rejected, first.metrics_added) == (2500, 0, 2500)
    assert (_count(engine, Author), _count(engine, Affiliation)) == (57, 3)
    assert _count(engine, Authorship) == 5000
    rows[1234]["title"] = "Row 1234, revised"
    _jsonl(path, rows)
    second = ingest_paths(engine, [path])
    assert (second.new, second.updated, second.unchanged, second.metrics_added) == (0, 1, 2499, 0)
    assert _paper(engine, "Row 1234, revised").external_id == "r1234"


def test_folders_missing_files_and_unknown_formats(engine, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "papers.csv", folder / "a.csv")
    shutil.copy(FIXTURES / "arxiv_feed.xml", folder / "b.xml")
    (folder / "notes.md").write_text("ignored: not a known extension")
    (tmp_path / "mystery.txt").write_text("no idea\n")
    summary = ingest_paths(engine, [folder, tmp_path / "absent.csv", tmp_path / "mystery.txt"])
    assert summary.new == 4  # 2 CSV rows + 2 arXiv entries
    reasons = [str(e) for e in summary.errors]
    assert any("absent.csv" in r and "no such file" in r for r in reasons)
    assert any("mystery.txt" in r and "cannot tell the format" in r for r in reasons)
    assert summary.rejected == 5  # 4 bad CSV rows + 1 arXiv entry without summary


@pytest.mark.postgres
def test_postgres_round_trip(pg_url, tmp_path):
    engine = open_db(pg_url)
    rows = [
        {
            "id": f"r{i}",
            "title": f"Row {i}",
            "abstract": "A.",
            "authors": [f"P {i % 40}"],
            "affiliations": [f"Lab {i % 3}"],
            "citations": 1,
        }
        for i in range(1500)
    ]
    sources = [
        FIXTURES / "feedpage_small.txt",
        FIXTURES / "arxiv_feed.xml",
        FIXTURES / "openalex_page.json",
        _jsonl(tmp_path / "many.jsonl", rows),
    ]
    first = ingest_paths(engine, sources)
    assert (first.new, first.updated, first.rejected) == (1503, 4, 2)
    again = ingest_paths(engine, sources)
    assert (again.new, again.updated, again.unchanged, again.metrics_added) == (0, 0, 1507, 0)
    assert (_count(engine, Paper), _count(engine, Author), _count(engine, Affiliation)) == (1503, 45, 9)
    merged = _paper(engine, "Sparse Gossip: Decentralised Training with Compressed Neighbour Updates")
    assert merged.arxiv_id == "2103.01234" and merged.openalex_id == "W4200000001"
    assert _authors_of(engine, merged.id) == ["Mirela Quast", "Tomasz Ferreira", "Aiyana Brook", "Lena Okafor"]


def test_megabyte_abstract_stored_whole(engine, tmp_path):
    abstract = ("A sentence about sparse gossip. " * 33_000)[:1_000_000]
    path = _jsonl(tmp_path / "long.jsonl", [{"id": "big", "title": "Long One", "abstract": abstract}])
    assert ingest_paths(engine, [path]).new == 1
    assert _paper(engine, "Long One").abstract == abstract.strip()

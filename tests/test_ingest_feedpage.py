"""The feed page reader, on the real seed page and on invented pages."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from conftest import SEED_PAGE

from annotator.errors import InputError
from annotator.ingest import PageHeader, iter_items, read_records
from annotator.ingest.records import PaperRecord

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SEED = SEED_PAGE  # an author's profile page from a paper feed, 45 papers


@pytest.fixture(scope="module")
def seed_items():
    return list(iter_items(SEED))


def _papers(items):
    return [i for i in items if isinstance(i, PaperRecord)]


def test_seed_header(seed_items):
    header = seed_items[0]
    assert isinstance(header, PageHeader)
    assert header.name == "Zhengyan Zhang"
    assert header.category == "CL"
    assert (header.h_index, header.papers, header.citations) == (44, 45, 24889)
    assert (header.novelty, header.ai_score, header.listed) == (54.0, 55.0, 45)
    assert header.source_ref == f"{SEED}:1"


def test_seed_all_papers_and_no_errors(seed_items):
    assert [i for i in seed_items if isinstance(i, InputError)] == []
    papers = _papers(seed_items)
    assert len(papers) == 45
    assert Counter(p.category for p in papers) == {"CL": 36, "LG": 5, "AI": 2, "CV": 1, "SI": 1}
    assert sum(p.has_code for p in papers) == 24
    assert all(p.has_code is not None for p in papers)
    assert all(p.categories == [p.category] for p in papers)
    assert all(p.authors_truncated for p in papers)  # every block on this page says "et al."
    assert all(len(p.authors) == 3 for p in papers)
    assert sum(bool(p.affiliations) for p in papers) == 13
    assert all(len(p.abstract) > 300 and "\n" not in p.abstract for p in papers)
    dates = sorted(p.published for p in papers)
    assert dates[0] == date(2018, 12, 20) and dates[-1] == date(2025, 12, 31)
    assert len({p.key() for p in papers}) == 45


def test_seed_first_paper(seed_items):
    first = _papers(seed_items)[0]
    assert first.title == (
        "CA-LoRA: Adapting Existing LoRA for Compressed LLMs to Enable Efficient Multi-Tasking on Personal Devices"
    )
    assert [a.name for a in first.authors] == ["Weilin Zhao", "Yuxiang Huang", "Xu Han"]
    assert first.authors_truncated is True
    assert first.affiliations == ["tsinghua"]
    assert (first.category, first.published, first.has_code) == ("CL", date(2023, 7, 15), True)
    assert first.abstract.startswith("Recently, there has been a demand to deploy")
    assert first.abstract.endswith("https://github.com/thunlp/CA-LoRA.")
    assert first.source_ref == f"{SEED}:12"


def test_seed_last_paper(seed_items):
    last = _papers(seed_items)[-1]
    assert last.title == "Graph Neural Networks: A Review of Methods and Applications"
    assert [a.name for a in last.authors] == ["Jie Zhou", "Ganqu Cui", "Shengding Hu"]
    assert last.affiliations == []
    assert (last.category, last.published, last.has_code) == ("LG", date(2018, 12, 20), False)
    assert last.abstract.endswith("propose four open problems for future research.")
    assert last.source_ref == f"{SEED}:320"


def test_seed_affiliations_and_odd_names(seed_items):
    by_title = {p.title: p for p in _papers(seed_items)}
    no_aff = by_title["Prompt Tuning for Discriminative Pre-trained Language Models"]
    assert no_aff.affiliations == []
    assert [a.name for a in no_aff.authors] == ["Yuan Yao", "Bowen Dong", "Ao Zhang"]
    assert no_aff.published == date(2022, 5, 23)
    two = by_title["Automatic Label Sequence Generation for Prompting Sequence-to-sequence Models"]
    assert two.affiliations == ["princeton", "tencent-ai"]
    roadmap = by_title["A Roadmap for Big Model"]
    assert (roadmap.category, roadmap.has_code, roadmap.affiliations) == ("LG", False, ["bytedance", "pku"])
    deepseek = by_title["DeepSeek-V3 Technical Report"]
    assert deepseek.authors[0].name == "DeepSeek-AI"
    assert deepseek.affiliations == ["stanford", "tsinghua"]
    relu = by_title["ReLU$^2$ Wins: Discovering Efficient Activation Functions for Sparse LLMs"]
    assert relu.affiliations == ["tencent-ai"] and relu.has_code is False
    cv = [p for p in by_title.values() if p.category == "CV"]
    assert [p.title for p in cv] == ["CPT: Colorful Prompt Tuning for Pre-trained Vision-Language Models"]


def test_invented_page_paragraphs_and_short_author_lists():
    items = list(iter_items(FIXTURES / "feedpage_small.txt"))
    assert isinstance(items[0], PageHeader) and items[0].citations == 1204
    papers = _papers(items)
    assert len(papers) == 3 and len(items) == 4
    gossip, ellipsis, grasp = papers
    assert gossip.abstract.count("\n\n") == 1  # two paragraphs kept apart
    assert "$O(1/\\sqrt{nT})$" in gossip.abstract
    assert gossip.affiliations == ["eth-zurich", "epfl", "inria"]
    assert ellipsis.authors_truncated is False
    assert [a.name for a in ellipsis.authors] == ["Aiyana Brook", "Mirela Quast"]
    assert (ellipsis.has_code, ellipsis.affiliations) == (False, [])
    assert (grasp.category, grasp.published) == ("RO", date(2024, 1, 9))


def test_malformed_blocks_name_file_line_field():
    path = FIXTURES / "feedpage_bad.txt"
    items = list(iter_items(path))
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.line, e.field) for e in errors] == [(10, "published"), (17, "abstract"), (22, "published")]
    assert all(e.path == str(path) for e in errors)
    assert "Feb 30, 2021" in str(errors[0])
    assert [p.title for p in _papers(items)] == ["A Good Paper Among Bad Ones"]


def test_listed_count_mismatch_is_reported(tmp_path):
    text = (FIXTURES / "feedpage_small.txt").read_text().replace("3 Papers", "4 Papers")
    page = tmp_path / "page.txt"
    page.write_text(text)
    errors = [i for i in read_records(page) if isinstance(i, InputError)]
    assert len(errors) == 1 and errors[0].field == "listed" and errors[0].line == 10


def test_incomplete_header_is_an_error_but_papers_still_come(tmp_path):
    text = (FIXTURES / "feedpage_small.txt").read_text().replace("AI Score48\n", "")
    page = tmp_path / "page.txt"
    page.write_text(text)
    items = list(iter_items(page))
    assert not any(isinstance(i, PageHeader) for i in items)
    assert [e.field for e in items if isinstance(e, InputError)] == ["ai_score"]
    assert len(_papers(items)) == 3


def test_invalid_utf8_rejects_only_its_block(tmp_path):
    raw = (FIXTURES / "feedpage_small.txt").read_bytes()
    raw = raw.replace(b"Ellipsis is frequent", b"Ellipsis \xff frequent")
    page = tmp_path / "page.txt"
    page.write_bytes(raw)
    items = list(read_records(page, fmt="feedpage"))
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1 and errors[0].line == 26 and "UTF-8" in str(errors[0])
    assert len(_papers(items)) == 2

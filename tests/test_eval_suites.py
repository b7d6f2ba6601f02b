"""Suite files: parsing, errors that name the field, item loading, sampling, hashing."""

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from annotator.errors import InputError
from annotator.evaluation import evaldata_dir, load_items, load_suite, sample_items
from annotator.evaluation.items import data_hash

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "eval" / "synthetic.toml"

MINIMAL = """
name = "mini"
data = "data/mini.jsonl"
[ai]
gold = "rating_mean"
scale = [1, 10]
"""


def write_suite(tmp_path: Path, text: str, rows=None) -> Path:
    """A suite at <tmp>/evals/s.toml; its data beside it in <tmp>/evals/data."""
    (tmp_path / "evals" / "data").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "evals" / "s.toml"
    path.write_text(text)
    if rows is not None:
        (tmp_path / "evals" / "data" / "mini.jsonl").write_text(
            "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
        )
    return path


def row(i, **kw):
    base = {
        "id": f"p{i}",
        "title": f"T{i}",
        "abstract": "An abstract long enough.",
        "rating_mean": 5.0,
        "venue": "V",
        "year": 2020,
    }
    base.update(kw)
    return base


@pytest.mark.parametrize("name", ["iclr2022", "neurips2023", "iclr2017_2018"])
def test_real_suites_parse(name):
    suite = load_suite(REPO / "evals" / f"{name}.toml")
    assert suite.name == name and suite.sample_size == 100
    # the data ship with the repository, beside the suites
    assert suite.data_path == REPO / "evals" / "data" / Path(suite.data).name
    assert suite.data_path.parent == evaldata_dir()
    assert suite.data_path.is_file()
    assert suite.thresholds["max_missing_rate"] == 0.1


def test_shipped_data_match_the_hashes_in_their_readme():
    readme = (REPO / "evals" / "data" / "README.md").read_text()
    listed = dict(re.findall(r"`([a-z0-9_]+\.jsonl(?:\.gz)?)` \|[^\n]*`([0-9a-f]{64})`", readme))
    files = sorted(p.name for p in (REPO / "evals" / "data").glob("*.jsonl*"))
    assert sorted(listed) == files and len(files) == 5
    for name, digest in listed.items():
        assert data_hash(REPO / "evals" / "data" / name) == digest, name


def test_fixture_suite_loads_items():
    suite = load_suite(FIXTURE)
    items = load_items(suite)
    assert len(items) == 30 and len(load_items(suite, sample=False)) == 40
    it = next(i for i in load_items(suite, sample=False) if i.id == "synth:000")
    assert it.gold_ai == 4.5 and it.gold_novelty == 2.5 and it.accepted is False
    assert it.ai_reviewers == (4, 4, 5, 5) and it.novelty_reviewers == (3, 3, 2, 2)
    assert (it.venue, it.year, it.citations) == ("SYNTH", 2021, 0)


def test_sample_is_deterministic_nested_and_order_free():
    suite = load_suite(FIXTURE)
    items = load_items(suite, sample=False)
    a = sample_items(items, 10, seed=5)
    assert [i.id for i in a] == [i.id for i in sample_items(list(reversed(items)), 10, 5)][::-1]
    assert {i.id for i in a} <= {i.id for i in sample_items(items, 20, 5)}
    assert {i.id for i in a} != {i.id for i in sample_items(items, 10, 6)}
    assert sample_items(items, None, 1) == items


def test_data_hash_is_sha256_of_file():
    path = REPO / "tests" / "fixtures" / "eval" / "synthetic.jsonl"
    assert data_hash(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_relative_data_path_follows_the_suite_file_not_the_cwd(tmp_path, monkeypatch):
    path = write_suite(tmp_path, MINIMAL, rows=[row(1), row(2)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").mkdir()
    (elsewhere / "data" / "mini.jsonl").write_text(json.dumps(row(9)) + "\n")  # a decoy
    for cwd in (tmp_path, elsewhere, tmp_path / "evals"):
        monkeypatch.chdir(cwd)
        suite = load_suite(os.path.relpath(path, cwd))
        assert suite.data_path == tmp_path / "evals" / "data" / "mini.jsonl"
        assert [i.id for i in load_items(suite, sample=False)] == ["p1", "p2"]


def test_absolute_data_path_is_used_as_is(tmp_path):
    data = tmp_path / "anywhere.jsonl"
    data.write_text(json.dumps(row(1)) + "\n")
    path = write_suite(tmp_path, MINIMAL.replace("data/mini.jsonl", data.as_posix()))
    assert load_suite(path).data_path == data


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("titel = 'x'\n" + MINIMAL, "titel", "unknown key"),
        (MINIMAL + "titel = 'x'\n", "ai.titel", "unknown key"),
        (MINIMAL.replace('name = "mini"', ""), "name", "required"),
        (MINIMAL + "[fields]\nabstarct = 'a'\n", "fields.abstarct", "unknown key"),
        (MINIMAL.replace("[1, 10]", "[10, 1]"), "ai.scale", "low < high"),
        (MINIMAL.replace('gold = "rating_mean"', ""), "ai.gold", "required"),
        ("sample_size = 0\n" + MINIMAL, "sample_size", "greater than or equal"),
        (MINIMAL + "[thresholds]\nspearman_novelty = 0.1\n", "thresholds.spearman_novelty", "unknown"),
        (MINIMAL + "[thresholds]\nauroc_ai = 0.6\n", "thresholds.auroc_ai", "unknown"),  # no decisions
        (MINIMAL + "[thresholds]\nmax_missing_rate = 2\n", "thresholds.max_missing_rate", "between"),
    ],
)
def test_suite_errors_name_file_and_field(tmp_path, text, field, words):
    path = write_suite(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_suite(path)
    assert err.value.field == field and err.value.path == str(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_bad_toml_and_missing_file(tmp_path):
    path = write_suite(tmp_path, "name = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_suite(path)
    with pytest.raises(InputError, match="cannot read"):
        load_suite(tmp_path / "nope.toml")


def test_missing_data_file_names_data_field(tmp_path):
    suite = load_suite(write_suite(tmp_path, MINIMAL))
    with pytest.raises(InputError) as err:
        load_items(suite)
    assert err.value.field == "data" and "not found" in str(err.value)


@pytest.mark.parametrize(
    "bad, line, field",
    [
        ("{not json", 2, None),
        (json.dumps(row(2, rating_mean="high")), 2, "rating_mean"),
        (json.dumps(row(2, abstract="")), 2, "abstract"),
        (json.dumps(row(1)), 2, "id"),  # duplicate id
    ],
)
def test_bad_rows_name_line_and_field(tmp_path, bad, line, field):
    suite = load_suite(write_suite(tmp_path, MINIMAL, rows=[row(1), bad]))
    with pytest.raises(InputError) as err:
        load_items(suite)
    assert err.value.line == line and err.value.field == field


def test_null_gold_is_kept_as_none(tmp_path):
    suite = load_suite(write_suite(tmp_path, MINIMAL, rows=[row(1, rating_mean=None), row(2)]))
    items = load_items(suite)
    assert [i.gold_ai for i in items] == [None, 5.0]

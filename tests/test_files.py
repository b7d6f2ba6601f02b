"""Files replaced whole (annotator.files): a writer that fails leaves the old file."""

from __future__ import annotations

import pytest

from annotator.files import atomic_output, write_atomic


def test_a_write_that_fails_halfway_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    write_atomic(target, '{"old": true}\n')
    with pytest.raises(RuntimeError), atomic_output(target) as fh:
        fh.write('{"new": ')  # half a document
        raise RuntimeError("killed")
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_complete_write_replaces_the_file(tmp_path):
    target = tmp_path / "report.md"
    write_atomic(target, "first\n")
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]

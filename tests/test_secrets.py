"""The API key never lands in the database, files, reports or terminal output."""

from __future__ import annotations

import json
from pathlib import Path

from _pg import cli_env, run_cli, write_papers

from annotator.injection.suite import run_suite

KEY = "sk-test-SECRET-123"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_api_key_is_never_stored_or_printed(tmp_path, fake_server):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    db = work / "secrets.db"
    env = cli_env(db=str(db), base_url=fake_server.base_url, api_key=KEY, HOME=str(home),
                  XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
                  TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    papers = write_papers(work / "papers.jsonl", 40)
    fake_server.configure(fault_rates={"429": 0.1, "500": 0.1, "bad_json": 0.1, "refusal": 0.05})
    outputs = []

    def cli(*args, ok=True):
        r = run_cli(list(args), env, cwd=work)
        outputs.append((args, r.stdout, r.stderr))
        if ok:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    cli("ingest", str(papers))
    cli("annotate", "--dry-run", "--model", "fake-model")
    cli("annotate", "--model", "fake-model", "--concurrency", "8")
    cli("queue")
    cli("prompts", "list")
    cli("export", "--format", "jsonl", "-o", str(work / "export.jsonl"))
    cli("export", "--format", "csv", "-o", str(work / "export.csv"))
    cli("export", "--format", "jsonl")
    # failures print messages and tracebacks: still no key
    fake_server.configure(fault_rates={})
    cli("ingest", str(write_papers(work / "more.jsonl", 3, start=100)))
    fake_server.script([{"kind": "status", "status": 401}] * 3)
    denied = cli("annotate", "--model", "fake-model", "--concurrency", "1", ok=False)
    assert denied.returncode != 0 and "401" in denied.stderr
    broken = dict(env, OPENAI_BASE_URL="http://[::1")  # not a URL: an unexpected traceback
    r = run_cli(["annotate", "--model", "fake-model"], broken, cwd=work)
    assert r.returncode != 0
    outputs.append(("broken url", r.stdout, r.stderr))
    report = run_suite(base_url=fake_server.base_url, api_key=KEY, model="fake-model", n_pairs=3)
    (work / "injection.json").write_text(json.dumps(report.to_dict()))

    # the key was really used: the server (not us) saw it
    assert any(rec["headers"].get("authorization") == f"Bearer {KEY}"
               for rec in fake_server.chat_requests())
    assert db.exists() and (work / "export.csv").stat().st_size > 0
    for args, out, err in outputs:
        assert KEY not in out and KEY not in err, f"key printed by {args}"
    needle = KEY.encode()
    files = _files(tmp_path)
    assert any(p.name.startswith("secrets.db") for p in files)
    for path in files:
        data = path.read_bytes()
        assert needle not in data and needle.lower() not in data.lower(), f"key found in {path}"
        assert KEY.encode("utf-16-le") not in data, f"key found in {path} (UTF-16)"

"""The API key never lands in the database, files, reports or terminal output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pg import cli_env, fetch, pg_server_url, pg_url, run_cli, write_papers  # noqa: F401  (fixtures)

from annotator.evalrun.injection import run_suite
from annotator.redact import MASK, redact_url

KEY = "sk-test-SECRET-123"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_api_key_is_never_stored_or_printed(tmp_path, fake_server):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    db = work / "secrets.db"
    env = cli_env(
        db=str(db),
        base_url=fake_server.base_url,
        api_key=KEY,
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        TMPDIR=str(tmp_path / "tmp"),
    )
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
    assert any(rec["headers"].get("authorization") == f"Bearer {KEY}" for rec in fake_server.chat_requests())
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


# -- every secret a URL can carry, planted in every place, found in none ----------------

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "annotator" / "data" / "sample_papers.jsonl"
SUITE = REPO / "evals" / "iclr2022.toml"
RECORDED = Path(__file__).parent / "data" / "recorded"
LOOSE = [
    "--fail-under",
    "spearman_ai=-1",
    "--fail-under",
    "spearman_novelty=-1",
    "--fail-under",
    "auroc_ai=0",
    "--fail-under",
    "max_missing_rate=1",
]
FEED = [
    "--category",
    "cs.CL",
    "--since",
    "2026-11-20",
    "--until",
    "2026-11-24",
    "--openalex-filter",
    "primary_location.source.id:S4306400194",
]
FAST_FEED = {
    "ANNOTATOR_FEED_ARXIV_INTERVAL_S": "0",
    "ANNOTATOR_FEED_ARXIV_PAGE_SIZE": "2",
    "ANNOTATOR_FEED_OPENALEX_RPS": "0",
    "ANNOTATOR_FEED_OPENALEX_PAGE_SIZE": "2",
}
SECRETS = {
    "database URL password": "pgpw-SECRET-userinfo-71",
    "database URL ?password=": "pgpw-SECRET-query-72",
    "base URL password": "gw-SECRET-userinfo-73",
    "base URL ?api-key=": "gw-SECRET-query-74",
    "OPENAI_API_KEY": "sk-SECRET-apikey-75",
}
GATEWAY_USER = "gateway"


def _with_secrets(pg: str) -> str:
    """``pg`` with a password in its user-info and another in ``?password=`` (libpq takes both)."""
    head, _, rest = pg.partition("://")
    authority, slash, tail = rest.partition("/")
    user = authority.rpartition("@")[0].partition(":")[0] if "@" in authority else "postgres"
    host = authority.rpartition("@")[2]
    sep = "&" if "?" in tail else "?"
    return (
        f"{head}://{user}:{SECRETS['database URL password']}@{host}{slash}{tail}"
        f"{sep}password={SECRETS['database URL ?password=']}"
    )


def _gateway(server_url: str) -> str:
    """The fake server's base URL as a gateway hands it out: a key in the user-info and the query."""
    scheme, _, rest = server_url.partition("://")
    return f"{scheme}://{GATEWAY_USER}:{SECRETS['base URL password']}@{rest}?api-key={SECRETS['base URL ?api-key=']}"


def _database_text(db: str) -> str:
    """Every row of every table as text, for a database on a server (files are read as bytes)."""
    from sqlalchemy import inspect, text

    from annotator.db import open_db

    engine = open_db(db)
    out = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            out += [repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(out)


def _secret_forms(secret: str) -> list[bytes]:
    import base64
    from urllib.parse import quote

    basic = base64.b64encode(f"{GATEWAY_USER}:{secret}".encode())
    return [secret.encode(), quote(secret).encode(), secret.encode("utf-16-le"), basic]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_url_secret_is_shown_stored_or_exported(backend, request, tmp_path, fake_server):
    from annotator.feed.replay import ReplayServer

    work, home = tmp_path / "work", tmp_path / "home"
    for d in (work, home, tmp_path / "tmp"):
        d.mkdir()
    db = _with_secrets(request.getfixturevalue("pg_url")) if backend == "postgres" else str(work / "main.db")
    gateway = _gateway(fake_server.base_url)
    env = cli_env(
        db=db,
        base_url=gateway,
        api_key=SECRETS["OPENAI_API_KEY"],
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        TMPDIR=str(tmp_path / "tmp"),
        **FAST_FEED,
    )
    outputs: list[tuple] = []

    def cli(*args, ok=True, **extra):
        r = run_cli([str(a) for a in args], dict(env, **extra), cwd=work, timeout=300)
        outputs.append((args, r.stdout, r.stderr))
        if ok:
            assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
        return r

    cli("ingest", SAMPLE)
    cli("annotate", "--model", "fake-model", "--concurrency", "4")
    cli("ingest", write_papers(work / "more.jsonl", 6))
    cli("batch", "submit", "--model", "fake-model")
    cli("batch", "collect", "--wait", "--poll", "0")
    cli("batch", "list", "--json")
    cli(
        "eval",
        "run",
        SUITE,
        "--model",
        "fake-model",
        "--sample-size",
        "12",
        "--n-boot",
        "100",
        "--no-plots",
        "--out",
        work / "report",
        *LOOSE,
    )
    cli("queue")
    cli("costs", "--json", work / "costs.json")
    cli("export", "--format", "csv", "-o", work / "export.csv")
    cli("export", "--format", "jsonl")
    cli("injection-suite", "--model", "fake-model", "--pairs", "2", "--json", work / "injection.json")
    cli("site", "build", "--out", work / "site")
    if backend == "postgres":  # the demo names its database (the embedded model judges)
        cli("demo", "--json")
    with ReplayServer(RECORDED / "routes.json") as replay:
        cli(
            "feed",
            "run",
            *FEED,
            "--arxiv-url",
            f"{replay.base_url}/api/query",
            "--openalex-url",
            replay.base_url,
            "--site",
            work / "feed-site",
            "--json",
        )
    cli("db", "copy", db, work / "copy.db", "--json")
    cli("db", "copy", db, work / "copy-table.db")
    refused = cli("db", "copy", db, db, ok=False)  # an error message naming the database
    assert refused.returncode != 0 and "same database" in refused.stderr

    # what a gateway needs went out with every request, though none of it is kept
    import base64

    basic = "Basic " + base64.b64encode(f"{GATEWAY_USER}:{SECRETS['base URL password']}".encode()).decode()
    sent = [r for r in fake_server.requests() if r["path"].startswith("/v1/")]
    assert {r["path"] for r in sent} >= {"/v1/chat/completions", "/v1/files", "/v1/batches"}
    for r in sent:
        assert r["query"].get("api-key") == SECRETS["base URL ?api-key="], r["path"]
        assert r["headers"].get("authorization") == basic, r["path"]
    assert (work / "site" / "index.html").exists() and (work / "report" / "result.json").exists()
    judged = fetch(db, "SELECT base_url FROM judgments WHERE model = 'fake-model'")
    assert judged and all(b == redact_url(gateway) for (b,) in judged)

    texts = [(f"output of {args}", (out + err).encode()) for args, out, err in outputs]
    texts += [(str(p), p.read_bytes()) for p in _files(tmp_path)]
    if backend == "postgres":
        texts.append(("the PostgreSQL database", _database_text(db).encode()))
    for place, secret in SECRETS.items():
        for where, data in texts:
            for form in _secret_forms(secret):
                assert form not in data, f"the {place} is in {where}"


# -- the redaction itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url, shown",
    [
        (
            "postgresql+psycopg://annot:hunter2@db.example.org:5432/papers",
            f"postgresql+psycopg://annot:{MASK}@db.example.org:5432/papers",
        ),
        (
            "postgresql://annot@db.example.org/papers?password=hunter2&sslmode=require",
            f"postgresql://annot@db.example.org/papers?password={MASK}&sslmode=require",
        ),
        (
            "postgresql://annot:a%40b@h/p?sslpassword=x&PassWord=y&application_name=annotator",
            f"postgresql://annot:{MASK}@h/p?sslpassword={MASK}&PassWord={MASK}&application_name=annotator",
        ),
        ("https://user:KEY@gateway.example.com/v1", f"https://user:{MASK}@gateway.example.com/v1"),
        (
            "https://gw.example.com/openai/v1?api-key=K&deployment=gpt",
            f"https://gw.example.com/openai/v1?api-key={MASK}&deployment=gpt",
        ),
        (
            "https://h/v1?API_KEY=a&apikey=b&Key=c&token=d&access_token=e&sig=f&secret=g",
            f"https://h/v1?API_KEY={MASK}&apikey={MASK}&Key={MASK}&token={MASK}&access_token={MASK}"
            f"&sig={MASK}&secret={MASK}",
        ),
        ("https://h/v1?api%2Dkey=a;model=m", f"https://h/v1?api%2Dkey={MASK};model=m"),
        ("https://h/cb#state=1&access_token=t", f"https://h/cb#state=1&access_token={MASK}"),
        ("https://pa:ss@w@h:8443/v1?q=1", f"https://pa:{MASK}@h:8443/v1?q=1"),  # the last '@' ends it
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://user@h/v1?keyword=graph&monkey=1", "https://user@h/v1?keyword=graph&monkey=1"),
        ("sqlite:////var/lib/annotator.db", "sqlite:////var/lib/annotator.db"),
        ("papers/annotator.db", "papers/annotator.db"),
        ("", ""),
    ],
)
def test_redact_url_masks_passwords_and_secret_parameters_only(url, shown):
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # redacting twice changes nothing


def test_redact_url_passes_none_through():
    assert redact_url(None) is None


def test_a_fetch_error_names_the_url_without_its_password(tmp_path):
    """A source URL with credentials in it (a proxy's ``user:password@``) that the server
    refuses: the error says which URL and what the server answered, the password masked."""
    from annotator.feed.replay import ReplayServer

    secret = "oa-SECRET-proxy-76"
    env = cli_env(db=str(tmp_path / "fetch.db"), ANNOTATOR_FEED_OPENALEX_RPS="0")
    with ReplayServer(RECORDED / "routes.json") as replay:
        url = replay.base_url.replace("://", f"://proxy:{secret}@") + "/nowhere"
        r = run_cli(
            ["fetch", "openalex", "--filter", "type:article", "--since", "2026-11-20", "--base-url", url],
            env,
            cwd=tmp_path,
        )
    assert r.returncode != 0 and "HTTP 404" in r.stderr and "/nowhere" in r.stderr, r.stderr
    assert secret not in r.stdout + r.stderr and f"proxy:{MASK}@" in r.stderr


def test_collecting_a_gateway_batch_asks_for_the_url_the_database_does_not_keep(tmp_path, engine, fake_server):
    """The batch row keeps the base URL without its key: collecting without OPENAI_BASE_URL
    is refused with what to set, instead of sending the masked key to the gateway."""
    from annotator.errors import ConfigError
    from annotator.ingest import ingest_paths
    from annotator.jobs.batch_collect import collect_batches
    from annotator.jobs.batch_submit import submit_batches
    from annotator.jobs.batch_types import BatchOptions
    from annotator.settings import get_settings

    ingest_paths(engine, [str(write_papers(tmp_path / "papers.jsonl", 3))])
    gateway = _gateway(fake_server.base_url)
    submitted = submit_batches(engine, get_settings(base_url=gateway), BatchOptions(model="fake-model"))
    assert submitted.batches and fetch(str(engine.url.database), "SELECT base_url FROM batches") == [
        (redact_url(gateway),)
    ]
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        collect_batches(engine, get_settings(api_key=SECRETS["OPENAI_API_KEY"]))
    done = collect_batches(engine, get_settings(base_url=gateway))
    assert [b.batch_id for b in done.batches] == submitted.batches and done.batches[0].judged == 3
    assert all(
        r["query"].get("api-key") == SECRETS["base URL ?api-key="]
        for r in fake_server.requests()
        if r["path"].startswith("/v1/batches")
    )

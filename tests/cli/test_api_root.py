"""The CLI decides live or sandbox from the canonical API root (invariant I13): the
vendor's root of the other environment is refused however it is spelled, before
anything is sent or written."""

from __future__ import annotations

import pytest

from shared_client import LIVE_API_ROOT, SANDBOX_API_ROOT
from shared_client.cli import BASE_URL_ENV, SANDBOX_ENV, ExitCode

from ..client.test_api_root import LIVE_SPELLINGS, SANDBOX_SPELLINGS
from .conftest import CliRunner

# A few of the spellings (each is a process start): host case, :443, the trailing dot,
# no www, doubled slashes, an empty query, all at once.
SOME_LIVE = [LIVE_SPELLINGS[i] for i in (2, 4, 5, 6, 7, 9, -1)]
SOME_SANDBOX = [SANDBOX_SPELLINGS[i] for i in (2, 4, 5, 6, 7, 10, -1)]


def _nothing_happened(cli: CliRunner) -> None:
    assert cli.simulator.requests == []
    assert not cli.ledger.exists()


@pytest.mark.parametrize("root", SOME_LIVE)
async def test_sandbox_with_the_live_root_spelled_another_way_exits_2(
    cli: CliRunner, root: str
) -> None:
    result = await cli.run("--sandbox", "--base-url", root, "credit", base_url=None)
    assert result.code == ExitCode.USAGE
    assert result.error.startswith(
        "--base-url is the vendor's live API root but --sandbox is set: drop one (for the "
        f"sandbox, leave --base-url unset or write {SANDBOX_API_ROOT})"
    )
    _nothing_happened(cli)


@pytest.mark.parametrize("root", SOME_SANDBOX)
async def test_an_order_on_the_sandbox_root_spelled_another_way_exits_2(
    cli: CliRunner, root: str
) -> None:
    result = await cli.run(
        "--base-url", root, "order", "10", "https://www.instagram.com/x", "100", "--yes",
        base_url=None,
    )  # fmt: skip
    assert result.code == ExitCode.USAGE
    assert "--base-url is the vendor's sandbox API root but --sandbox is not set" in result.error
    assert f"(or write {LIVE_API_ROOT}) for the live API" in result.error
    _nothing_happened(cli)


async def test_the_environment_variables_are_read_the_same_way(cli: CliRunner) -> None:
    env = {BASE_URL_ENV: "https://Happy-Follower.com.:443//api//v1/?", SANDBOX_ENV: "yes"}
    result = await cli.run("credit", base_url=None, env=env)
    assert result.code == ExitCode.USAGE
    assert "--base-url is the vendor's live API root but --sandbox is set" in result.error
    _nothing_happened(cli)


@pytest.mark.parametrize("sandbox", [(), ("--sandbox",)])
@pytest.mark.parametrize(
    ("root", "says"),
    [
        (
            "https://www.happy-follower.com/api/v2",
            "--base-url is on Happy Follower's host but is neither of its API roots: write "
            f"{LIVE_API_ROOT} for the live API or {SANDBOX_API_ROOT} for the sandbox, or "
            "leave it unset (got 'https://www.happy-follower.com/api/v2')",
        ),
        (
            "http://www.happy-follower.com/api/v1",
            "--base-url must be https:// on Happy Follower's host, or the API key would "
            "travel in clear: write",
        ),
    ],
)
async def test_a_root_on_the_vendors_host_that_is_neither_exits_2(
    cli: CliRunner, root: str, says: str, sandbox: tuple[str, ...]
) -> None:
    result = await cli.run(*sandbox, "--base-url", root, "credit", base_url=None)
    assert result.code == ExitCode.USAGE
    assert result.error.startswith(says)
    _nothing_happened(cli)


@pytest.mark.parametrize(
    "root", ["http://[::1", "http://127.0.0.1:99999/api/v1", "http://127.0.0.1:8080/api/v1?x"]
)
async def test_a_malformed_root_exits_2_without_a_traceback(cli: CliRunner, root: str) -> None:
    result = await cli.run("--base-url", root, "credit", base_url=None)
    assert result.code == ExitCode.USAGE  # cli.run checks: one "error:" line, no traceback
    assert result.error.startswith("--base-url must ")
    _nothing_happened(cli)


async def test_a_password_in_the_root_is_refused_and_never_shown(cli: CliRunner) -> None:
    cli.extra_secrets.add("hunter2")  # cli.run checks it shows nowhere
    root = cli.simulator.base_url.replace("http://", "http://user:hunter2@")
    result = await cli.run("--base-url", root, "credit", base_url=None)
    assert result.code == ExitCode.USAGE
    assert "must not contain a user name or password" in result.error
    _nothing_happened(cli)


@pytest.mark.parametrize("sandbox", [False, True])
async def test_the_simulators_root_spelled_loosely_works_with_either_flag(
    cli: CliRunner, sandbox: bool
) -> None:
    sim = cli.simulator
    sim.set_credit(cli.api_key, 777, sandbox=True)
    root = sim.sandbox_base_url if sandbox else sim.base_url
    loose = root.replace("http://", "HTTP://").replace("/api/", "//api//") + "/"
    flags = ("--sandbox",) if sandbox else ()
    result = await cli.run(*flags, "--base-url", loose, "--json", "credit", base_url=None)
    assert result.code == ExitCode.OK
    assert result.json()["credit"] == (777 if sandbox else 100_000)
    assert {request.sandbox for request in sim.requests} == {sandbox}

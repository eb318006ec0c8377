"""One exit code per kind of failure, each with a one-line message and nothing leaked."""

from __future__ import annotations

import asyncio

from shared_client.cli import API_KEY_ENV, MAX_COUNT_ENV, ExitCode
from shared_client.simulator import Fault

from .conftest import HINT, CliRunner, free_port

LINK = "https://www.instagram.com/cli.test"


BAD_INPUT: list[tuple[tuple[str, ...], dict[str, str | None], str]] = [
    (("order", "10", LINK, "many", "--yes"), {}, "count"),
    (("order", "0", LINK, "100", "--yes"), {}, "service_id"),
    (("order", "10", "instagram.com/x", "100", "--yes"), {}, "https://"),
    (("order", "10", "https://www.instagram.com/a b", "100", "--yes"), {}, "spaces"),
    (("status", "abc"), {}, "order_id"),
    (("cancel", "-3"), {}, "order_id"),
    (("recheck", "1.5"), {}, "order_id"),
    (("credit",), {API_KEY_ENV: None}, API_KEY_ENV),  # no API key at all
    (("credit",), {API_KEY_ENV: "   "}, API_KEY_ENV),
    (("order", "10", LINK, "100", "--yes"), {MAX_COUNT_ENV: "lots"}, MAX_COUNT_ENV),
]


async def test_bad_input_is_usage_and_sends_nothing(cli: CliRunner) -> None:
    results = await asyncio.gather(
        *(cli.run(*args, env=env) for args, env, _ in BAD_INPUT),
        cli.run("order", "10", LINK),  # argparse: no count
    )
    *ours, parser = results
    for result, (_, _, mentions) in zip(ours, BAD_INPUT, strict=True):
        assert result.code == ExitCode.USAGE, result
        assert mentions in result.error
        assert result.stdout == ""
    assert parser.code == ExitCode.USAGE
    assert parser.stderr.startswith("usage: happy-follower")
    assert "count" in parser.stderr
    assert cli.simulator.requests == []
    # The orders refused for their input are audited (the settings error stops before the
    # ledger is opened): four refusals, none sent.
    records = cli.ledger_records()
    assert [r["event"] for r in records] == ["refused"] * 4
    assert all(r["source"] == "cli" and r["reason"] for r in records)


async def test_wrong_key_is_auth(cli: CliRunner) -> None:
    result = await cli.run("credit", api_key="not-the-right-key-0123456789abcdef")
    assert result.code == ExitCode.AUTH
    assert "refused the API key" in result.error
    assert [r.endpoint for r in cli.simulator.requests] == ["auth"]


async def test_revoked_key_is_auth_for_an_order_and_places_nothing(cli: CliRunner) -> None:
    cli.simulator.revoke_api_key(cli.api_key)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.AUTH  # the service id could not be checked: the key
    assert "refused the API key" in result.error
    assert "order" not in {r.endpoint for r in cli.simulator.requests}
    assert cli.ledger_events() == ["refused"]


async def test_dead_port_is_unavailable(cli: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    result = await cli.run("--timeout", "2", "credit", base_url=url)
    assert result.code == ExitCode.UNAVAILABLE
    assert "Could not connect" in result.error


async def test_rate_limit_is_unavailable(cli: CliRunner) -> None:
    cli.simulator.inject("credit", Fault.RATE_LIMITED, retry_after=7)
    result = await cli.run("credit")
    assert result.code == ExitCode.UNAVAILABLE
    assert "try again in 7 s" in result.error
    assert [r.endpoint for r in cli.simulator.requests] == ["auth", "credit"]  # no retry


async def test_rate_limited_order_is_unavailable_and_not_retried(cli: CliRunner) -> None:
    cli.simulator.inject("order", Fault.RATE_LIMITED)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.UNAVAILABLE
    assert [r.endpoint for r in cli.simulator.requests].count("order") == 1
    assert cli.simulator.orders(cli.api_key) == []


async def test_not_enough_credit_is_refused(cli: CliRunner) -> None:
    cli.simulator.set_credit(cli.api_key, 50)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.REFUSED
    assert result.stdout == ""
    assert cli.simulator.orders(cli.api_key) == []
    assert cli.simulator.credit(cli.api_key) == 50
    assert cli.ledger_events() == ["attempt", "failed"]


async def test_lost_order_answer_is_outcome_unknown_and_sent_once(cli: CliRunner) -> None:
    sim = cli.simulator
    sim.inject("order", Fault.PROCESS_THEN_DROP)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.OUTCOME_UNKNOWN
    assert "NOT sent again" in result.error
    # What to run to check, pasteable: with the --base-url in effect.
    hint = f"{HINT} --base-url {sim.base_url}"
    orders = f"{hint} orders --ledger {cli.ledger}"
    assert f"Do not retry: check with `{hint} credit` and `{orders}`" in result.error
    posts = [r for r in sim.requests if r.endpoint == "order"]
    assert len(posts) == 1
    assert posts[0].method == "POST"
    assert len(sim.orders(cli.api_key)) == 1  # it was placed, though nobody heard back
    assert cli.ledger_events() == ["attempt", "outcome_unknown"]


async def test_cap_refusal_is_cancelled(cli: CliRunner) -> None:
    result = await cli.run("order", "10", LINK, "100", "--yes", env={MAX_COUNT_ENV: "99"})
    assert result.code == ExitCode.CANCELLED
    assert "99" in result.error
    assert cli.order_posts() == 0
    assert cli.ledger_events() == ["refused"]


async def test_unreadable_answer_is_error(cli: CliRunner) -> None:
    cli.simulator.inject("credit", Fault.MALFORMED_JSON)
    result = await cli.run("credit")
    assert result.code == ExitCode.ERROR
    assert "does not understand" in result.error

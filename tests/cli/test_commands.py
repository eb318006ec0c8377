"""Every read and order-action subcommand, in text and in --json, against the simulator."""

from __future__ import annotations

import asyncio
import json

from shared_client import HappyFollowerClient, __version__
from shared_client.cli import ExitCode
from shared_client.simulator import DEFAULT_SERVICES, Simulator

from .conftest import HINT, CliRunner

LINK = "https://www.instagram.com/cli.test"
SENT = LINK + "/"  # LINK as the input policy writes it (its canonical form)
STATUS_FIELDS = {
    "order_id",
    "status",
    "status_title",
    "remain",
    "old_count",
    "count",
    "cost",
    "link",
    "delivered",
    "progress",
    "is_final",
}


async def test_version(cli: CliRunner) -> None:
    result = await cli.run("--version", base_url=None)
    assert result.code == ExitCode.OK
    assert result.stdout.strip() == f"happy-follower {__version__}"
    assert cli.simulator.requests == []


async def test_credit(cli: CliRunner) -> None:
    cli.simulator.set_credit(cli.api_key, 123_456.5)
    text, as_json = await asyncio.gather(cli.run("credit"), cli.run("--json", "credit"))
    assert text.code == as_json.code == ExitCode.OK
    assert text.stdout == "Credit: 123,456.5\n"
    assert as_json.json() == {"credit": 123_456.5}
    assert {r.endpoint for r in cli.simulator.requests} == {"auth", "credit"}


async def test_services(cli: CliRunner) -> None:
    text, as_json = await asyncio.gather(cli.run("services"), cli.run("--json", "services"))
    assert text.code == as_json.code == ExitCode.OK
    lines = text.stdout.splitlines()
    assert len(lines) == len(DEFAULT_SERVICES)
    for line, service in zip(lines, DEFAULT_SERVICES, strict=True):
        assert line.split(maxsplit=1) == [str(service.service_id), service.name]
    assert as_json.json() == [
        {"service_id": service.service_id, "name": service.name} for service in DEFAULT_SERVICES
    ]


async def test_order_with_yes_text(cli: CliRunner) -> None:
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.OK
    (order,) = cli.simulator.orders(cli.api_key)
    assert (order.service_id, order.link, order.count) == (10, SENT, 100)
    # The hint keeps the options in effect, so it can be pasted as it is.
    # Which service, for which page or post: orders a person can tell apart.
    assert result.stdout == (
        f"Order {order.order_id} placed (100 × لایک ایرانی(سرعت متوسط) for @cli.test), cost 200. "
        f"Follow it with: {HINT} --base-url {cli.simulator.base_url} status "
        f"{order.order_id} --watch\n"
    )
    assert cli.simulator.credit(cli.api_key) == 100_000 - 200


async def test_order_json_and_persian_digits(cli: CliRunner) -> None:
    # Users of an Iranian service type Persian digits.
    result = await cli.run("--json", "order", "۱۰", LINK, "۵۰", "-y")
    assert result.code == ExitCode.OK
    (order,) = cli.simulator.orders(cli.api_key)
    assert result.json() == {
        "order_id": order.order_id,
        "service_id": 10,
        "service_name": "لایک ایرانی(سرعت متوسط)",
        "link": SENT,
        "count": 50,
        "cost": 100,
        "estimated_cost": None,
    }
    assert order.count == 50
    posts = [r for r in cli.simulator.requests if r.endpoint == "order"]
    assert [r.form for r in posts] == [{"serviceId": "10", "link": SENT, "count": "50"}]


async def test_status(cli: CliRunner, client: HappyFollowerClient) -> None:
    done = await client.place_order(service_id=10, link=LINK, count=100)
    cli.simulator.advance(60)  # 10 s waiting to start, then 5 a second: done after 30 s
    waiting = await client.place_order(service_id=10, link=LINK, count=100)
    text, as_json, unknown = await asyncio.gather(
        cli.run("status", str(done)),
        cli.run("--json", "status", str(waiting)),
        cli.run("status", "999"),
    )
    assert text.code == as_json.code == ExitCode.OK
    bar = "#" * 30
    assert text.stdout == (
        f"Order {done}: [{bar}] 100.0%  100/100 delivered  cost 200  completed (تکمیل شده)\n"
    )
    status = as_json.json()
    assert set(status) == STATUS_FIELDS
    assert status["order_id"] == waiting
    assert status["status"] == "registered"
    assert (status["count"], status["remain"], status["delivered"]) == (100, 100, 0)
    assert status["cost"] == 200
    assert status["link"] == SENT
    assert status["is_final"] is False
    assert unknown.code == ExitCode.REFUSED
    assert "/status/" in unknown.error
    assert unknown.stdout == ""
    assert not cli.ledger.exists()  # reading a status never creates a ledger


async def test_status_watch_follows_the_order_to_completion(
    cli: CliRunner, client: HappyFollowerClient
) -> None:
    sim = cli.simulator
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    process = await cli.start("--json", "status", str(order_id), "--watch", "--interval", "0.05")
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[dict[str, object]] = []
    async with asyncio.timeout(20):
        while line := await process.stdout.readline():
            lines.append(json.loads(line))
            sim.advance(7)  # the CLI polls while the test moves the simulator's clock
        stderr = await process.stderr.read()
        code = await process.wait()
    assert code == ExitCode.OK
    assert stderr == b""
    cli.assert_no_secret(*(str(line) for line in lines))
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "registered"
    assert "in_progress" in statuses
    assert statuses[-1] == "completed"
    assert statuses.count("completed") == 1  # stops at the first final status
    delivered = [int(str(line["delivered"])) for line in lines]
    assert delivered == sorted(delivered)
    assert lines[-1]["progress"] == 100.0
    assert lines[-1]["is_final"] is True
    polls = [r for r in sim.requests if r.endpoint == "status"]
    assert len(polls) == len(lines)  # one request per line printed
    assert len(lines) >= 4


async def test_status_watch_of_final_order_prints_once(
    cli: CliRunner, client: HappyFollowerClient
) -> None:
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    await client.cancel_order(order_id)
    result = await cli.run("status", str(order_id), "--watch", "--interval", "0.05")
    assert result.code == ExitCode.OK
    assert result.stdout.count("\n") == 1
    assert "canceled" in result.stdout


async def test_cancel_then_cancel_again_is_refused(
    cli: CliRunner, client: HappyFollowerClient
) -> None:
    first = await client.place_order(service_id=10, link=LINK, count=100)
    second = await client.place_order(service_id=10, link=LINK, count=100)
    text, as_json = await asyncio.gather(
        cli.run("cancel", str(first)), cli.run("--json", "cancel", str(second))
    )
    assert text.code == as_json.code == ExitCode.OK
    assert text.stdout == f"Order {first} canceled.\n"
    assert as_json.json() == {"order_id": second, "canceled": True}
    assert [order.status for order in cli.simulator.orders(cli.api_key)] == ["canceled"] * 2
    assert cli.simulator.credit(cli.api_key) == 100_000  # refunded in full
    again = await cli.run("cancel", str(first))
    assert again.code == ExitCode.REFUSED
    assert again.stdout == ""
    assert "/cancel" in again.error


async def test_recheck(cli: CliRunner, client: HappyFollowerClient) -> None:
    first = await client.place_order(service_id=10, link=LINK, count=100)
    second = await client.place_order(service_id=10, link=LINK, count=100)
    text, as_json = await asyncio.gather(
        cli.run("recheck", str(first)), cli.run("--json", "recheck", str(second))
    )
    assert text.code == as_json.code == ExitCode.OK
    assert text.stdout == f"Order {first} sent to recheck.\n"
    assert as_json.json() == {"order_id": second, "rechecked": True}
    assert [order.recheck_count for order in cli.simulator.orders(cli.api_key)] == [1, 1]
    forms = [r.form for r in cli.simulator.requests if r.endpoint == "recheck"]
    assert sorted(form["orderId"] for form in forms) == sorted([str(first), str(second)])


async def test_sandbox_reads_the_sandbox_root(cli: CliRunner) -> None:
    sim: Simulator = cli.simulator
    sim.set_credit(cli.api_key, 777, sandbox=True)
    result = await cli.run("--sandbox", "--json", "credit", base_url=sim.sandbox_base_url)
    assert result.code == ExitCode.OK
    assert result.json() == {"credit": 777}
    assert sim.requests
    assert all(r.sandbox for r in sim.requests)


async def test_sandbox_order_lands_in_the_sandbox(cli: CliRunner) -> None:
    sim = cli.simulator
    result = await cli.run(
        "--sandbox", "order", "10", LINK, "100", "--yes", base_url=sim.sandbox_base_url
    )
    assert result.code == ExitCode.OK
    assert len(sim.orders(cli.api_key, sandbox=True)) == 1
    assert sim.orders(cli.api_key) == []
    assert [r["event"] for r in cli.ledger_records()] == ["attempt", "placed"]
    assert all(record["sandbox"] is True for record in cli.ledger_records())
    # The hint to follow it says --sandbox with the sandbox's root, as it was run.
    assert f"{HINT} --sandbox --base-url {sim.sandbox_base_url} status 1" in result.stdout


async def test_sandbox_cancel_and_recheck_fail_cleanly_without_sending(cli: CliRunner) -> None:
    url = cli.simulator.sandbox_base_url
    results = await asyncio.gather(
        *(cli.run("--sandbox", command, "1", base_url=url) for command in ("cancel", "recheck"))
    )
    for result in results:
        assert result.code == ExitCode.USAGE
        assert "no sandbox version" in result.error
        assert result.stdout == ""
    assert cli.simulator.requests == []

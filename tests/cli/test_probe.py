"""``happy-follower probe`` against the simulator switched into each alternative behaviour the
vendor's documentation leaves open: it must report exactly the differences, say which ones the
client does not cope with, never spend on live, and never print a credential."""

from __future__ import annotations

from typing import Any

import pytest

from shared_client import HappyFollowerClient, HappyFollowerError
from shared_client.cli import ExitCode
from shared_client.simulator import DIALECTS

from .conftest import CliResult, CliRunner, free_port

# The account's sandbox credit: low enough that an order beyond it stays within the
# service's largest count, so "not enough credit" can be provoked.
SANDBOX_CREDIT = 1000
CREDENTIALS = {"wrong-api-key", "wrong-token", "replaced-token", "wrong-refresh-token"}
ERRORS = CREDENTIALS | {"unknown-order", "order-without-parameters", "not-enough-credit"}
EVERY_SANDBOX_CHECK = ERRORS | {
    "auth",
    "services",
    "credit",
    "refresh",
    "order-form-body",
    "order-json-body",
    "order-status",
    "sandbox-cancel",
    "sandbox-recheck",
}

# dialect -> (checks that differ, checks the client does not cope with)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "assumed": (set(), set()),
    "form-bodies-only": ({"order-json-body"}, set()),
    "json-bodies-only": ({"order-form-body"}, {"order-form-body", "not-enough-credit"}),
    "credential-refused-403": (CREDENTIALS, set()),
    "credential-refused-200": (CREDENTIALS, set()),
    "token-refused-unauthenticated": (CREDENTIALS, {"wrong-token", "replaced-token"}),
    "errors-under-msg": (ERRORS, set()),
    "errors-under-error": (ERRORS, set()),
    "errors-status-key": (ERRORS, set()),
    "errors-plain-text": (ERRORS, {"unknown-order", "not-enough-credit"}),
    "errors-http-200": (ERRORS - {"not-enough-credit"}, set()),
    "panel-status-words": ({"order-status"}, set()),
    "credit-wording-english": ({"not-enough-credit"}, {"not-enough-credit"}),
    "echo-credentials": (CREDENTIALS, set()),
}


def differing(report: dict[str, Any]) -> set[str]:
    return {check["name"] for check in report["checks"] if check["verdict"] == "differs"}


async def probe(cli: CliRunner, *args: str, base_url: str | None = None) -> CliResult:
    url = base_url or cli.simulator.sandbox_base_url
    return await cli.run(*args, "probe", base_url=url)


def test_every_dialect_has_an_expectation() -> None:
    assert set(EXPECTED) == set(DIALECTS)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
async def test_probe_reports_each_difference(cli: CliRunner, dialect: str) -> None:
    sim = cli.simulator
    sim.dialect = DIALECTS[dialect]
    sim.set_credit(cli.api_key, SANDBOX_CREDIT, sandbox=True)
    result = await probe(cli, "--json")  # check() proves no key or token was printed
    assert result.code == ExitCode.OK, result
    report = result.json()
    assert report["environment"] == "sandbox"
    assert {check["name"] for check in report["checks"]} == EVERY_SANDBOX_CHECK
    differs, not_coping = EXPECTED[dialect]
    assert differing(report) == differs
    assert set(report["client_does_not_cope"]) == not_coping
    assert report["summary"]["not_run"] == 0
    assert report["summary"]["differs"] == len(differs)
    # Only the sandbox was touched; the live root saw nothing.
    assert all(request.sandbox for request in sim.requests)
    assert sim.orders(cli.api_key) == []


async def test_probe_text_report_names_what_differs_and_how_to_attach(cli: CliRunner) -> None:
    cli.simulator.dialect = DIALECTS["token-refused-unauthenticated"]
    result = await probe(cli)
    assert result.code == ExitCode.OK
    out = result.stdout
    assert out.startswith("Happy Follower probe (happy-follower ")
    assert "Sandbox: the orders the probe places there cost nothing." in out
    assert "DIFFERS  wrong-token: GET /credit/ with a made-up token" in out
    assert 'HTTP 200, JSON {operation: "error", message: "Unauthenticated."}' in out
    assert "THE CLIENT DOES NOT COPE" in out
    assert "The client does not cope with: wrong-token, replaced-token." in out
    # The command to attach, as it runs where the person is (a clone: through uv).
    assert (
        "Attach this report to a bug report (or the output of `uv run happy-follower probe --json`)"
        in out
    )
    assert "it holds no API key and no token" in out


async def test_echoed_credentials_are_redacted(cli: CliRunner) -> None:
    cli.simulator.dialect = DIALECTS["echo-credentials"]
    text, as_json = await probe(cli), await probe(cli, "--json")
    for result in (text, as_json):
        assert result.code == ExitCode.OK
        assert "***" in result.stdout  # the echoed credential, replaced
        cli.assert_no_secret(result.stdout)  # the key and every token the simulator saw
    assert "repeats the refused credential" in text.stdout


async def test_live_probe_never_orders(cli: CliRunner) -> None:
    sim = cli.simulator
    result = await cli.run("--json", "probe", "--live", base_url=sim.base_url)
    assert result.code == ExitCode.OK, result
    report = result.json()
    assert report["environment"] == "live"
    live = [request for request in sim.requests if not request.sandbox]
    assert live
    endpoints = {request.endpoint for request in live}
    assert endpoints <= {"auth", "ref-auth", "services", "credit", "status", "cancel"}
    # The only cancels name order 0, which cannot exist (or nothing at all).
    assert {r.form.get("orderId") for r in live if r.endpoint == "cancel"} == {"0", None}
    assert sim.orders(cli.api_key) == []
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["cancel-form-body"]["verdict"] == "as_assumed"
    assert checks["cancel-json-body"]["note"] == "the body was read"
    assert "order-form-body" not in checks
    text = await cli.run("probe", "--live", base_url=sim.base_url)
    assert "LIVE API: only reads and refusals were provoked; no order was sent" in text.stdout


async def test_live_probe_sees_json_only_bodies(cli: CliRunner) -> None:
    cli.simulator.dialect = DIALECTS["json-bodies-only"]
    result = await cli.run("--json", "probe", "--live", base_url=cli.simulator.base_url)
    report = result.json()
    assert differing(report) == {"cancel-form-body"}
    assert report["client_does_not_cope"] == ["cancel-form-body"]


async def test_sandbox_probe_on_a_root_that_is_not_the_sandbox_sends_no_order(
    cli: CliRunner,
) -> None:
    # --base-url stands for the sandbox here, but its path is the live API's.
    result = await cli.run("--json", "probe", base_url=cli.simulator.base_url)
    assert result.code == ExitCode.OK
    assert cli.order_posts() == 0
    checks = {check["name"]: check for check in result.json()["checks"]}
    assert checks["sandbox-orders"]["verdict"] == "not_run"
    assert "does not say sandbox" in checks["sandbox-orders"]["note"]


async def test_probe_with_a_refused_key_reports_and_exits_3(cli: CliRunner) -> None:
    result = await cli.run(
        "probe", base_url=cli.simulator.sandbox_base_url, api_key="not-a-key-of-this-simulator"
    )
    assert result.code == ExitCode.AUTH
    assert "DIFFERS  auth: GET /auth with the API key" in result.stdout
    assert "API key was refused" in result.error


@pytest.fixture
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/api/sandbox/v1"


async def test_probe_of_a_dead_port_exits_4(cli: CliRunner, dead_url: str) -> None:
    result = await cli.run("probe", base_url=dead_url)
    assert result.code == ExitCode.UNAVAILABLE
    assert "did not answer" in result.error
    assert "no answer (ClientConnectorError)" in result.stdout


@pytest.mark.parametrize(
    "dialect",
    [
        "assumed",
        "credential-refused-403",
        "credential-refused-200",
        "token-refused-unauthenticated",
    ],
)
async def test_the_probes_token_verdict_is_what_the_client_does(
    cli: CliRunner, dialect: str
) -> None:
    """The probe judges refused tokens with protocol.py's rules; the real client, meeting an
    expired token in the same dialect, must agree (renew and go on, or fail)."""
    sim = cli.simulator
    sim.dialect = DIALECTS[dialect]
    report = (await probe(cli, "--json")).json()
    probe_says_copes = "wrong-token" not in report["client_does_not_cope"]
    async with HappyFollowerClient(
        cli.api_key, sandbox=True, base_url=sim.sandbox_base_url, retry_backoff=0
    ) as client:
        await client.get_credit()
        sim.expire_tokens()
        try:
            await client.get_credit()
        except HappyFollowerError:
            client_copes = False
        else:
            client_copes = True
    assert client_copes is probe_says_copes


async def test_an_api_root_with_a_password_is_refused_cleanly(cli: CliRunner) -> None:
    url = cli.simulator.sandbox_base_url.replace("http://", "http://probe:hunter2secret@")
    result = await cli.run("--json", "probe", base_url=url)
    assert result.code == ExitCode.USAGE, result
    assert "hunter2secret" not in result.stdout + result.stderr
    assert cli.simulator.requests == []

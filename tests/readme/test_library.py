"""The README's library example, run as written against the simulator."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from typing import Any

import shared_client
from shared_client import HappyFollowerClient, HappyFollowerError
from shared_client import protocol as p
from shared_client.simulator import Simulator

from .readme import REPO, only_block, prose, section

CLIENT = 'HappyFollowerClient("YOUR_API_KEY")'
RUN = "asyncio.run(main())"


async def test_library_example_runs(simulator: Simulator, api_key: str) -> None:
    source = only_block("The library", "python")
    assert source.count(CLIENT) == 1
    assert source.rstrip().endswith(RUN)
    source = source.replace(CLIENT, "HappyFollowerClient(API_KEY, base_url=BASE_URL)")
    source = source.rstrip().removesuffix(RUN)
    namespace: dict[str, Any] = {"API_KEY": api_key, "BASE_URL": simulator.base_url}
    credit = simulator.credit(api_key)

    exec(compile(source, "README.md", "exec"), namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        await namespace["main"]()

    lines = printed.getvalue().splitlines()
    assert float(lines[0]) == credit  # the credit, first
    services = [tuple(line.split(" ", 1)) for line in lines[1:-1]]
    assert [int(service_id) for service_id, _ in services] == [10, 11, 20, 21, 30, 31]
    (order,) = simulator.orders(api_key)
    assert (order.service_id, order.link, order.count) == (
        10,
        "https://www.instagram.com/yourpage/",  # as the input policy writes it
        100,
    )
    assert lines[-1] == f"{p.STATUS_REGISTERED} 0.0 False"
    assert api_key not in printed.getvalue()


def test_library_example_imports_and_sandbox_comment() -> None:
    source = only_block("The library", "python")
    imported = {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == "shared_client"
        for alias in node.names
    }
    assert imported <= set(shared_client.__all__)
    # "# sandbox=True for the sandbox"
    assert "sandbox=True for the sandbox" in source
    assert HappyFollowerClient("key", sandbox=True).base_url == p.SANDBOX_API_ROOT.rstrip("/")
    assert HappyFollowerClient("key").base_url == p.LIVE_API_ROOT.rstrip("/")


def test_library_prose_names() -> None:
    library = prose(section("The library"))
    for name in re.findall(r"`(HappyFollower\w*Error)`", library):
        error = getattr(shared_client, name)
        assert issubclass(error, HappyFollowerError), name
    assert "`HappyFollowerOrderOutcomeUnknownError`" in library
    for path in re.findall(r"`([\w/]+\.py)`", library):
        assert (REPO / path).is_file(), path

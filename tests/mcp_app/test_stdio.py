"""The app through the real console entry over stdio (the page's files come from the
package, the app tools answer on the embedded simulator)."""

from __future__ import annotations

import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_server.app import ORDER_CARD_URI, page

from .conftest import APPS, ORDER, accept

REPO = Path(__file__).resolve().parents[2]


async def test_stdio_server_serves_the_app(mode: str, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server", "--simulate"],
        env={"XDG_STATE_HOME": str(tmp_path)},
        cwd=REPO,
    )
    with (tmp_path / "stderr.txt").open("w") as errlog:
        async with Client(
            stdio_client(params, errlog=errlog),
            mode=mode,
            extensions=[APPS],
            elicitation_callback=accept,
        ) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            html = (await client.read_resource(ORDER_CARD_URI)).contents[0]
            placed = await client.call_tool("place_order", ORDER)
            assert placed.structured_content is not None
            card = await client.call_tool(
                "app_order_card", {"order_id": placed.structured_content["order_id"]}
            )
    assert tools["place_order"].meta == {"ui": {"resourceUri": ORDER_CARD_URI}}
    assert getattr(html, "text", None) == page.build("order")
    assert card.structured_content is not None
    assert card.structured_content["environment"] == "simulated"
    assert card.structured_content["service_name"] == "لایک ایرانی(سرعت بالا)"
    assert card.structured_content["target"] == {"kind": "profile", "text": "@happy.test"}
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()

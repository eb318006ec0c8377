"""The MCP App (MCP Apps extension): order cards and an account view in the conversation.

Tools declare which ``ui://`` resource renders their result (``tools.TOOLS``); this
package serves those resources and the app-only tools the pages call. This module only
names the resources (``tools`` imports it); the HTML is built at the first read.
"""

from typing import Final

ORDER_CARD_URI: Final = "ui://happy-follower/order-card.html"
ACCOUNT_URI: Final = "ui://happy-follower/account.html"

__all__ = ["ACCOUNT_URI", "ORDER_CARD_URI"]

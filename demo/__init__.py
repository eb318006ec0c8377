"""Development tooling, in no wheel: the full demo (Home Assistant and the MCP server on the
simulator) that ``uv run happy-follower demo`` starts from a clone of the repository."""

"""MCP server for Happy Follower: every endpoint as a tool, with spend safety built in."""

from .backend import Backend, open_backend
from .http import running_http_server, serve_http
from .server import build_server
from .settings import Settings, SettingsError, load_settings

__all__ = [
    "Backend",
    "Settings",
    "SettingsError",
    "build_server",
    "load_settings",
    "open_backend",
    "running_http_server",
    "serve_http",
]

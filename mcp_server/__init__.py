"""MCP server for Happy Follower: every endpoint as a tool, with spend safety built in."""

from .backend import Backend, open_backend
from .http import running_http_server, serve_http
from .server import build_server
from .settings import Settings, SettingsError, load_settings

# The distribution's version, always shared_client's (tests/release/test_versions.py).
__version__ = "0.1.0"

__all__ = [
    "Backend",
    "Settings",
    "SettingsError",
    "__version__",
    "build_server",
    "load_settings",
    "open_backend",
    "running_http_server",
    "serve_http",
]

"""Live or sandbox is decided once, from the canonical API root (invariant I13).

The vendor's two roots are recognised however they are spelled; the other
environment's root is refused, as is a root on the vendor's host that is neither.
Another host (a mirror, the simulator) stands for the environment the flag chooses.
The CLI, MCP and Home Assistant tests use ``LIVE_SPELLINGS`` / ``SANDBOX_SPELLINGS``.
"""

from __future__ import annotations

import pytest

from shared_client import HappyFollowerClient, HappyFollowerInputError
from shared_client.protocol import (
    LIVE_API_ROOT,
    SANDBOX_API_ROOT,
    ApiRoot,
    ApiRootError,
    ApiRootRefusal,
    api_root_for,
    classify_api_root,
)
from shared_client.simulator import Simulator


def spellings(path: str) -> list[str]:
    """Ways to write the vendor's root at ``path`` that all name that root."""
    doubled = path.replace("/", "//")
    return [
        f"https://www.happy-follower.com{path}",  # as documented
        f"https://www.happy-follower.com{path}/",
        f"https://WWW.Happy-Follower.com{path}",  # host case
        f"HTTPS://www.happy-follower.com{path}",  # scheme case
        f"https://www.happy-follower.com:443{path}",  # the default port
        f"https://www.happy-follower.com.{path}",  # the host's trailing dot
        f"https://happy-follower.com{path}",  # no www
        f"https://www.happy-follower.com{doubled}",  # doubled slashes
        f"https://www.happy-follower.com{path}///",
        f"https://www.happy-follower.com{path}?",  # an empty query
        f"https://www.happy-follower.com{path}#",  # an empty fragment
        f"https://www.happy-follower.com{path}?#",
        f"  https://www.happy-follower.com{path}\n",
        f"\u2068https://www.happy-follower.com{path}\u2069",  # pasted from Persian text
        f"\u200ehttps://www.happy-follower.com{path}",
        f"https://www.happy-follower.com/api/.{path.removeprefix('/api')}",  # a dot segment
        f"https://ｗｗｗ.happy-follower.com{path}",  # full-width letters (IDNA maps them)
        f"HTTPS://HAPPY-FOLLOWER.COM.:443{doubled}/?#",  # all at once
    ]


LIVE_SPELLINGS = spellings("/api/v1")
SANDBOX_SPELLINGS = spellings("/api/sandbox/v1")
BOTH = [(s, "live") for s in LIVE_SPELLINGS] + [(s, "sandbox") for s in SANDBOX_SPELLINGS]
DOCUMENTED = {"live": LIVE_API_ROOT, "sandbox": SANDBOX_API_ROOT}

# On the vendor's host, but neither root: cannot be classified, refused whatever the flag.
NEITHER_ROOT = [
    "https://www.happy-follower.com",
    "https://www.happy-follower.com/",
    "https://www.happy-follower.com/api",
    "https://www.happy-follower.com/api/v2",
    "https://www.happy-follower.com/api/sandbox",
    "https://www.happy-follower.com/api/v1/auth",
    "https://www.happy-follower.com/API/V1",
    "https://www.happy-follower.com/api/v1;x",
    "https://www.happy-follower.com/api/sandbox%2Fv1",
    "https://www.happy-follower.com/api/v1/..",
    "https://www.happy-follower.com:8443/api/v1",
    "https://api.happy-follower.com/api/v1",
    "https://www.www.happy-follower.com/api/sandbox/v1",
]


@pytest.mark.parametrize(("root", "environment"), BOTH)
def test_every_spelling_of_a_vendor_root_classifies_the_same(root: str, environment: str) -> None:
    api_root = classify_api_root(root)
    assert (api_root.url, api_root.environment) == (DOCUMENTED[environment], environment)


@pytest.mark.parametrize(("root", "environment"), BOTH)
def test_the_client_uses_the_documented_root_of_its_own_environment(
    root: str, environment: str
) -> None:
    client = HappyFollowerClient("key", sandbox=environment == "sandbox", base_url=root)
    assert client.base_url == DOCUMENTED[environment]
    assert client.sandbox is (environment == "sandbox")


@pytest.mark.parametrize("root", LIVE_SPELLINGS)
def test_the_live_root_with_sandbox_is_refused(root: str) -> None:
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", sandbox=True, base_url=root)
    assert raised.value.reason is ApiRootRefusal.LIVE_ROOT_IN_SANDBOX
    assert isinstance(raised.value, HappyFollowerInputError)
    message = str(raised.value)
    assert message.startswith("base_url is Happy Follower's live API root, but the sandbox")
    assert f"leave it unset (or write {SANDBOX_API_ROOT}) for the sandbox" in message


@pytest.mark.parametrize("root", SANDBOX_SPELLINGS)
def test_the_sandbox_root_without_sandbox_is_refused(root: str) -> None:
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", base_url=root)
    assert raised.value.reason is ApiRootRefusal.SANDBOX_ROOT_IN_LIVE
    message = str(raised.value)
    assert message.startswith("base_url is Happy Follower's sandbox API root, but live is chosen")
    assert f"leave it unset (or write {LIVE_API_ROOT}) for the live API" in message


@pytest.mark.parametrize("sandbox", [False, True])
@pytest.mark.parametrize("root", NEITHER_ROOT)
def test_a_root_on_the_vendors_host_that_is_neither_is_refused(root: str, sandbox: bool) -> None:
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", sandbox=sandbox, base_url=root)
    assert raised.value.reason is ApiRootRefusal.NOT_A_VENDOR_ROOT
    assert str(raised.value).startswith(
        "base_url is on Happy Follower's host but is neither of its API roots: "
        f"write {LIVE_API_ROOT} for the live API or {SANDBOX_API_ROOT} for the sandbox, "
        "or leave it unset"
    )


@pytest.mark.parametrize("sandbox", [False, True])
@pytest.mark.parametrize(
    "root",
    [
        "http://www.happy-follower.com/api/v1",
        "http://happy-follower.com/api/sandbox/v1",
        "HTTP://WWW.HAPPY-FOLLOWER.COM:80/api/v1/",
        "http://www.happy-follower.com:443/api/v1",
    ],
)
def test_http_on_the_vendors_host_is_refused(root: str, sandbox: bool) -> None:
    """The API key would travel in clear; whichever root it names."""
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", sandbox=sandbox, base_url=root)
    assert raised.value.reason is ApiRootRefusal.INSECURE
    assert "must be https:// on Happy Follower's host" in str(raised.value)
    assert LIVE_API_ROOT in str(raised.value)


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        ("https://www.happy-follower.com/api/v1?x=1", ApiRootRefusal.QUERY),
        ("https://www.happy-follower.com/api/sandbox/v1#top", ApiRootRefusal.QUERY),
        ("http://127.0.0.1:8080/api/v1?a", ApiRootRefusal.QUERY),
        ("http://127.0.0.1:8080/api/v1#a", ApiRootRefusal.QUERY),
        ("ftp://www.happy-follower.com/api/v1", ApiRootRefusal.INVALID),
        ("http://[::1", ApiRootRefusal.INVALID),  # yarl raises ValueError on these two
        ("http://127.0.0.1:99999/api/v1", ApiRootRefusal.INVALID),
        ("https://www.happy-follower.com:443:443/api/v1", ApiRootRefusal.INVALID),
        ("https://www.happy-follower.com\\api\\v1", ApiRootRefusal.INVALID),
        ("https:www.happy-follower.com/api/v1", ApiRootRefusal.INVALID),
        ("//www.happy-follower.com/api/v1", ApiRootRefusal.INVALID),
        ("https://www%2Ehappy-follower.com/api/v1", ApiRootRefusal.INVALID),
        ("http://./api/v1", ApiRootRefusal.INVALID),
        ("http://127.0.0.1:8080/a\u200bpi/v1", ApiRootRefusal.INVALID),  # zero-width
        ("http://127.0.0.1:8080/api/v1\x00", ApiRootRefusal.INVALID),
        ("https://www.happy-follower.com/api/\x1bv1", ApiRootRefusal.INVALID),
    ],
)
def test_other_refusals_are_input_errors_never_a_crash(root: str, reason: ApiRootRefusal) -> None:
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", base_url=root)
    assert raised.value.reason is reason
    assert str(raised.value).startswith("base_url must ")
    assert repr(root) in str(raised.value)  # said what it got (no secret in these)


@pytest.mark.parametrize(
    "root",
    [
        "https://user:hunter2@www.happy-follower.com/api/v1",
        "http://hunter2@127.0.0.1:8080/api/v1",
        "http://user:hunter2@mirror.example/api/v1",
    ],
)
def test_credentials_are_refused_without_echoing_them(root: str) -> None:
    with pytest.raises(ApiRootError) as raised:
        HappyFollowerClient("key", sandbox=True, base_url=root)
    assert raised.value.reason is ApiRootRefusal.CREDENTIALS
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("sandbox", [False, True])
@pytest.mark.parametrize("root", [None, "", "   ", "\u2068\u2069"])
def test_an_unset_root_is_the_chosen_environments(root: str | None, sandbox: bool) -> None:
    expected = SANDBOX_API_ROOT if sandbox else LIVE_API_ROOT
    assert api_root_for(root, sandbox=sandbox) == expected
    assert HappyFollowerClient("key", sandbox=sandbox, base_url=root).base_url == expected


@pytest.mark.parametrize(
    ("root", "canonical"),
    [
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080/api/v1"),
        ("http://127.0.0.1:8080/api/sandbox/v1/", "http://127.0.0.1:8080/api/sandbox/v1"),
        ("HTTP://LocalHost.:8080//api//v1//?#", "http://localhost:8080/api/v1"),
        ("http://127.0.0.1:80/api/v1", "http://127.0.0.1/api/v1"),
        ("https://mirror.example:443/x/", "https://mirror.example/x"),
        ("https://mirror.example:8443", "https://mirror.example:8443"),
        ("http://[::1]:8080/api/v1", "http://[::1]:8080/api/v1"),
        ("http://mirror.example/", "http://mirror.example"),
        # Look-alikes of the vendor's name are other hosts (http allowed, as for any mirror).
        (
            "http://happy-follower.com.evil.example/api/v1",
            "http://happy-follower.com.evil.example/api/v1",
        ),
        ("https://nothappy-follower.com/api/v1", "https://nothappy-follower.com/api/v1"),
    ],
)
def test_another_hosts_root_is_canonical_and_unclassified(root: str, canonical: str) -> None:
    assert classify_api_root(root) == ApiRoot(canonical, None)
    for sandbox in (False, True):  # the flag decides, as it always did
        client = HappyFollowerClient("key", sandbox=sandbox, base_url=root)
        assert (client.base_url, client.sandbox) == (canonical, sandbox)


@pytest.mark.parametrize("sandbox", [False, True])
@pytest.mark.parametrize("sandbox_path", [False, True])
async def test_the_simulators_roots_work_with_either_flag(
    simulator: Simulator, api_key: str, sandbox: bool, sandbox_path: bool
) -> None:
    simulator.set_credit(api_key, 321, sandbox=True)
    root = simulator.sandbox_base_url if sandbox_path else simulator.base_url
    # Spelled loosely: the canonical form is what goes on the wire.
    loose = root.replace("http://", "HTTP://").replace("/api/", "//api//") + "/?#"
    async with HappyFollowerClient(api_key, sandbox=sandbox, base_url=loose) as client:
        assert client.base_url == root
        assert client.sandbox is sandbox
        assert await client.get_credit() == (321 if sandbox_path else 100_000)
    assert {request.sandbox for request in simulator.requests} == {sandbox_path}

"""Structural checks of the integration's files, after hassfest's rules, and its translations."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import async_capture_events

import shared_client
from custom_components.happy_follower import services
from custom_components.happy_follower.errors import translation_for
from custom_components.happy_follower.sensor import KNOWN_STATUSES
from shared_client import errors

REPO = Path(__file__).parents[2]
INTEGRATION = REPO / "custom_components" / "happy_follower"
LANGUAGES = ("en", "fa")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _leaves(tree: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: tree}


def _translations(language: str) -> dict[str, Any]:
    return _json(INTEGRATION / "translations" / f"{language}.json")


def test_manifest() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    keys = list(manifest)
    # hassfest: domain and name first, then the other keys in alphabetical order.
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "cloud_polling"
    assert manifest["requirements"] == ["happy-follower==0.1.0"]
    assert manifest["loggers"] == ["shared_client"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert manifest[key].startswith("https://")
    allowed = {
        "domain",
        "name",
        "codeowners",
        "config_flow",
        "dependencies",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "loggers",
        "requirements",
        "version",
        "after_dependencies",
        "quality_scale",
        "single_config_entry",
    }
    assert set(manifest) <= allowed
    # One version: the package's (shared_client.__version__), pinned by the manifest.
    assert manifest["requirements"] == [f"happy-follower=={shared_client.__version__}"]
    assert manifest["version"] == shared_client.__version__


def test_no_other_manifest_json() -> None:
    # Files of the repository (tracked or not ignored); tool folders are ignored ones.
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    found = [Path(name) for name in listed if Path(name).name == "manifest.json"]
    assert found == [Path("custom_components/happy_follower/manifest.json")]


def test_hacs_json() -> None:
    hacs = _json(REPO / "hacs.json")
    assert set(hacs) <= {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "hacs",
        "persistent_directory",
        "render_readme",
    }
    assert hacs["name"]
    assert hacs["country"] == "IR"
    assert re.fullmatch(r"20\d\d\.\d{1,2}\.\d+", hacs["homeassistant"])
    assert hacs["content_in_root"] is False


def test_brand_icon() -> None:
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    assert (width, height) == (256, 256)


def _services_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    return loaded


def test_services_yaml_matches_registered_actions() -> None:
    described = _services_yaml()
    registered = {value for name, value in vars(services).items() if name.startswith("SERVICE_")}
    assert set(described) == registered
    for action, spec in described.items():
        assert set(spec) <= {"fields", "target", "response"}, action
        fields = spec["fields"]
        entry = fields["config_entry_id"]
        assert entry["required"] is True
        assert entry["selector"] == {"config_entry": {"integration": "happy_follower"}}
        for name, field in fields.items():
            assert set(field) <= {"required", "example", "selector", "default"}, name
            assert len(field["selector"]) == 1, name


def test_icons_json() -> None:
    icons = _json(INTEGRATION / "icons.json")
    assert set(icons) <= {"entity", "services"}
    assert set(icons["services"]) == set(_services_yaml())
    for spec in icons["services"].values():
        assert re.fullmatch(r"mdi:[a-z0-9-]+", spec["service"])
    sensors = icons["entity"]["sensor"]
    assert set(sensors) == set(_translations("en")["entity"]["sensor"])
    for spec in sensors.values():
        for icon in _leaves(spec).values():
            assert re.fullmatch(r"mdi:[a-z0-9-]+", icon)
    assert set(sensors["order_status"]["state"]) == set(KNOWN_STATUSES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_complete(language: str) -> None:
    english = _leaves(_translations("en"))
    other = _leaves(_translations(language))
    assert set(other) == set(english)
    for key, text in other.items():
        assert isinstance(text, str), key
        assert text.strip(), key
        # Placeholders must be the same as in English.
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", english[key])), key
    if language == "fa":
        persian = sum(bool(re.search(r"[\u0600-\u06FF]", text)) for text in other.values())
        assert persian / len(other) > 0.95


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_pass_the_validators_rules(language: str) -> None:
    """Home Assistant's validator: no web address inside a translation string (they go in
    placeholders), and a repair issue has a description or a fix flow, never both."""
    for key, text in _leaves(_translations(language)).items():
        assert not re.search(r"https?://", text), key
    for key, issue in _translations(language)["issues"].items():
        assert not ("description" in issue and "fix_flow" in issue), key


def test_every_action_field_translated() -> None:
    for language in LANGUAGES:
        translated = _translations(language)["services"]
        for action, spec in _services_yaml().items():
            assert translated[action]["name"]
            assert translated[action]["description"]
            assert set(translated[action]["fields"]) == set(spec["fields"]), action
            for field in translated[action]["fields"].values():
                assert field["name"]
                assert field["description"]


def test_every_status_translated() -> None:
    for language in LANGUAGES:
        states = _translations(language)["entity"]["sensor"]["order_status"]["state"]
        assert set(states) == set(KNOWN_STATUSES)


def test_every_error_key_translated() -> None:
    """Every key the code can raise or show has a text."""
    english = _translations("en")
    exceptions = set(english["exceptions"])
    # Entity translation keys live in sensor.py; every other one names an error.
    source = "\n".join(
        path.read_text() for path in INTEGRATION.glob("*.py") if path.name != "sensor.py"
    )
    raised = set(re.findall(r'translation_key="(\w+)"', source))
    raised -= {"environment"}  # a selector's translation key, checked below
    samples = [
        errors.HappyFollowerAuthenticationError("x"),
        errors.HappyFollowerRateLimitError("x", retry_after=None),
        errors.HappyFollowerOrderOutcomeUnknownError("x"),
        errors.HappyFollowerNotEnoughCreditError("x", service_message="m", http_status=400),
        errors.HappyFollowerApiError("x", service_message="m", http_status=400),
        errors.HappyFollowerResponseError("x"),
        errors.HappyFollowerSandboxUnsupportedError("x"),
        errors.HappyFollowerInputError("x"),
        errors.HappyFollowerInputError("x", field="count"),
        errors.HappyFollowerInputError("x", field="link"),
        errors.HappyFollowerUnknownServiceError("x", field="service_id"),
        errors.HappyFollowerConnectionError("x"),
        *(
            errors.HappyFollowerSpendCapError("x", cap=cap)
            for cap in ("max_count_per_order", "max_orders_per_day", "max_spend_per_day")
        ),
    ]
    samples.append(errors.HappyFollowerRateLimitError("x", retry_after=7))
    mapped = {translation_for(err)[0] for err in samples}
    # No Retry-After: no made-up wait.
    assert translation_for(samples[1]) == ("rate_limited", {})
    assert translation_for(errors.HappyFollowerRateLimitError("x", retry_after=7)) == (
        "rate_limited_retry_after",
        {"retry_after": "7"},
    )
    # The shared input policy names the field; the user reads it in their language.
    assert [translation_for(err)[0] for err in samples[7:11]] == [
        "invalid_input",
        "invalid_count",
        "invalid_link",
        "unknown_service",
    ]
    # No library text in a placeholder: the library's messages are English only.
    assert translation_for(samples[7]) == ("invalid_input", {})
    assert translation_for(samples[8]) == ("invalid_count", {"most": "2,147,483,647"})
    assert translation_for(samples[8], "fa") == ("invalid_count", {"most": "۲٬۱۴۷٬۴۸۳٬۶۴۷"})
    mapped |= {
        translation_for(errors.HappyFollowerInputError("x", field=field))[0]
        for field in ("service_id", "order_id", "unit_price")
    }
    assert raised | mapped <= exceptions
    assert set(english["selector"]["environment"]["options"]) == {"live", "sandbox"}
    form_errors = set(re.findall(r'"base": "(\w+)"|= "(invalid_unit)"', source))
    used = {key for pair in form_errors for key in pair if key}
    assert used - {"invalid_unit"} <= set(english["config"]["error"])
    assert "invalid_unit" in english["options"]["error"]


def test_quality_scale_lists_every_rule() -> None:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    expected = {
        # Bronze
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
        # Silver
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
        # Gold
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
        # Platinum
        "async-dependency",
        "inject-websession",
        "strict-typing",
    }
    assert set(rules) == expected
    # Only one rule waits for something outside this repository: the first PyPI release.
    not_done = {"dependency-transparency"}
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ({"done", "exempt", "todo"} if name in not_done else {"done", "exempt"})
        if status in {"exempt", "todo"}:
            assert rule["comment"].strip(), name


@pytest.mark.parametrize("name", ["order_finished", "credit_low"])
async def test_blueprint_runs(hass: HomeAssistant, name: str) -> None:
    """Each blueprint is valid for Home Assistant and reacts to the integration's event."""
    path = REPO / "blueprints" / "automation" / "happy_follower" / f"{name}.yaml"
    blueprint = Blueprint(
        load_yaml_dict(str(path)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    event = f"happy_follower_{name}"
    assert blueprint.data["triggers"][0]["event_type"] == event

    blueprints_dir = Path(hass.config.path("blueprints", "automation", "happy_follower"))
    await hass.async_add_executor_job(blueprints_dir.mkdir, 0o755, True, True)
    await hass.async_add_executor_job(shutil.copy, path, blueprints_dir / path.name)
    notifications = async_capture_events(hass, "call_service")
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": f"happy_follower/{path.name}", "input": {}}}},
    )
    await async_setup_component(hass, "persistent_notification", {})
    data = {
        "config_entry_id": "x",
        "order_id": 7,
        "status": "completed",
        "status_title": "تکمیل شده",
        "progress": 100.0,
        "delivered": 100,
        "count": 100,
        "link": "https://www.instagram.com/x",
        "credit": 250,
        "threshold": 1000,
        "unit": "Toman",
    }
    hass.bus.async_fire(event, data)
    await hass.async_block_till_done()
    created = [
        call.data["service_data"]["message"]
        for call in notifications
        if call.data["service"] == "create"
    ]
    assert len(created) == 1
    assert ("Order 7" in created[0]) if name == "order_finished" else ("250 Toman" in created[0])

"""The guard's refusal kinds are Home Assistant's ``cap_*`` exception keys, both ways: a new
kind without a translated message, or a message no kind raises, fails here. Read from the
translation files themselves, so the library keeps importing nothing of Home Assistant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_client.errors import (
    HappyFollowerApiError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
    Refusal,
)

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "happy_follower" / "translations"


@pytest.mark.parametrize("language", ["en", "fa"])
def test_refusal_kinds_are_the_cap_translation_keys(language: str) -> None:
    exceptions = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))["exceptions"]
    keys = {key.removeprefix("cap_") for key in exceptions if key.startswith("cap_")}
    assert keys == {refusal.value for refusal in Refusal}


def test_a_refusal_says_nothing_was_sent_as_data() -> None:
    refusal = HappyFollowerSpendCapError("over the cap", cap=Refusal.MAX_SPEND_PER_DAY)
    assert refusal.nothing_sent
    assert refusal.cap is Refusal.MAX_SPEND_PER_DAY


@pytest.mark.parametrize(
    ("error", "nothing_sent"),
    [
        (HappyFollowerInputError("bad count", field="count"), True),
        (HappyFollowerLedgerError("the ledger is read-only"), True),
        # Sent: the vendor refused it, or its answer was lost.
        (HappyFollowerApiError("refused", service_message="x", http_status=400), False),
        (HappyFollowerOrderOutcomeUnknownError("no answer"), False),
        (HappyFollowerError("anything else"), False),
        (HappyFollowerError("known here", nothing_sent=True), True),
    ],
)
def test_nothing_sent_is_known_by_the_kind_or_said_where_raised(
    error: HappyFollowerError, nothing_sent: bool
) -> None:
    assert error.nothing_sent is nothing_sent

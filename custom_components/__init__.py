"""Custom integrations of this repository (loaded by Home Assistant and by the tests)."""

"""Tests that read README.md itself and check that every claim it makes holds."""

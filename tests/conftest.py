"""Shared fixtures. Local vendor servers live in tests/vendors/plugin.py."""

pytest_plugins = ["tests.vendors.plugin"]

"""Schemas where the test migration 0900_rollout_probe_column raises (an injected
failure). Not in the migrations package: Django's loader reloads that package, which
would reset a set kept there."""

FAIL_IN: set[str] = set()

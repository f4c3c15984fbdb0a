"""Fixtures of the training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_inherited_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ews-train`` reads ``EWS_TRACKING_URI``: a value from the shell or left by another
    package's tests (the serving CLI sets it for its process) must not redirect these runs."""
    monkeypatch.delenv("EWS_TRACKING_URI", raising=False)

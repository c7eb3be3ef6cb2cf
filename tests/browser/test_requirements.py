"""Where CI requires the real servers, a missing Chromium fails the browser tests instead of skipping them."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_chromium_fails_when_servers_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CONTATO_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="/nonexistent/chromium"):
        conftest.chromium_or_skip()
    monkeypatch.delenv("CONTATO_REQUIRE_SERVERS")
    with pytest.raises(pytest.skip.Exception):
        conftest.chromium_or_skip()

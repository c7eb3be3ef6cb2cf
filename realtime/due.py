"""What can fall due: the sources the alert scheduler claims from."""

from __future__ import annotations

from realtime.alerts import DueSource

DUE_SOURCES: list[DueSource] = []

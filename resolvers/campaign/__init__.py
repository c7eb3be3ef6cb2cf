"""Outbound campaigns: set-up, members, and the agent's queue (one module per concern)."""

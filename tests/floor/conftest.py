from tests.outbound_factories import clock, outbound

__all__ = ["clock", "outbound"]

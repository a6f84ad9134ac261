"""The test suite's loopback HTTP server: see :mod:`crawler_compliance._testing.loopback`.

Kept as the import path tests use (``from tests.loopback import LoopbackServer``);
the demo's stand-in web is built on the same server.
"""

from __future__ import annotations

from crawler_compliance._testing.loopback import LoopbackServer, Received, Route

__all__ = ["LoopbackServer", "Received", "Route"]

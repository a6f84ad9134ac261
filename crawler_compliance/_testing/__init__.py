"""Package-private helpers for the test suite and the demo: a loopback HTTP
server (:mod:`.loopback`) and a process-wide network guard (:mod:`.netguard`).

Not public API and never imported by the decision core or the adapters: they
exist so that the tests and ``python -m examples.demo`` run on one loopback
server and one guard, and never touch anything but 127.0.0.1.
"""

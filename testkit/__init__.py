"""Test support shared by tests/ and benchmarks/: stand-ins, a live stack, browser helpers, free ports."""

"""Scripts that print measured figures (run as `.venv/bin/python -m benchmarks.NAME`); not tests."""

"""Measuring: the orchestrator (runner, spawn, environments) and what runs in workers (worker, timing, data, the NumPy reference)."""

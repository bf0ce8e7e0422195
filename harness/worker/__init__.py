"""The child side: one process measures one task and writes its result as JSON.

Entry: ``python -m harness.worker TASK.json RESULT.json [PROGRESS]`` (``entry.main``).
Everything here, with ``harness.core`` and ``harness.backends``, runs in each
framework's own environment, on every Python a measured release needs.
"""

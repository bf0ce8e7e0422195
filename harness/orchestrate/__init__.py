"""The parent side of a run: plan the workers, start them in their environments, schedule, record.

Nothing here imports a framework: tasks go to workers as JSON (``harness.worker``).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # harness/orchestrate/__init__.py -> the repository

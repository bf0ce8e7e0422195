"""A run's time budget (issue 22): the most its workers may take in all, shared out as they run.

On a noisy day the adaptive rules (auto repeats until a median is precise, processes added until it
would not move between runs) take longer just when the machine is slow: `make bench` once took 30
minutes instead of 10. A run with a budget bounds what they add, in this order:

1. **Added processes** (``schedule.more_processes``): one starts only if the time it is predicted to
   take is still left.
2. **Auto repeats**: each worker is told how many seconds of timed repeats one value may take (its stop
   rule's ``budget_s``): its config's ``run.budget_s``, or less where the time left, after the predicted
   overhead of every planned worker still to run, shares out less. At 0 a value gets the stop rule's
   minimum of 3 repeats.
3. **Planned workers**: one starts only if its predicted time is left; otherwise it is recorded as
   skipped, with the reason. The headline (the run's first case: the question's network in ``make bench``)
   runs all its rounds first (issue 34: the budget serves the headline ratios first); then the other cases
   run in rounds (every case's first process, then every case's second), so the later rounds give way
   first: on a day only a little slow, a case loses its CI over processes, not its values; on a hopeless
   one, the last cases of the first round are skipped too, and the report says which. The budget is a
   bound, not a wish.

A worker's time is predicted from those already run: the median wall time of workers of the same
case, strategy and cache, else of the same config, strategy and cache, else of the same config and
cache; unknown (nothing to go by) counts as 0. Its overhead is its wall time less its auto repeats'
timed seconds (what a smaller repeat budget cannot shorten). The clock is injected: the tests drive
this with a fake one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

from harness.results import BUDGET_REFUSED

REPEATED_ROWS = "stopped"  # a measurement row's stop reason: set where auto repeats ran (worker.timing)
DEFAULT_VALUES = 2  # auto-repeated values of a worker before one has run (construct and execute)


def repeats_seconds(measurements: list[dict]) -> tuple[float, int]:
    """The timed seconds of a worker's auto-repeated values, and how many values were auto-repeated."""
    rows = [m for m in measurements if m.get(REPEATED_ROWS) and m.get("seconds") is not None]
    seconds = sum(float(m["seconds"]) * int(m.get("loops") or 1) for m in rows)
    return seconds, len({m["phase"] for m in rows})


class RunBudget:
    """The seconds a run's workers may take, shared out as they run (module docstring).

    Keys are ``(config, case, strategy, cache)``; ``clock`` reads seconds (``time.monotonic``)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        if not seconds > 0:
            raise ValueError(f"a run's time budget must be a positive number of seconds (got {seconds!r})")
        self.seconds, self.clock = float(seconds), clock
        self.began = clock()
        self.walls: dict[tuple, list[float]] = {}
        self.overheads: dict[tuple, list[float]] = {}
        self.values: dict[tuple, list[int]] = {}
        self.given: list[tuple[float, float]] = []  # (handed to a worker, its config's most)
        self.extra = {"wanted": 0, "ran": 0}
        self.skipped = 0

    def left(self) -> float:
        return self.seconds - (self.clock() - self.began)

    def note(self, key: tuple, wall: float, measurements: list[dict]) -> None:
        """A worker of ``key`` ended after ``wall`` seconds with these measurement rows."""
        repeated, values = repeats_seconds(measurements)
        self.walls.setdefault(key, []).append(wall)
        self.overheads.setdefault(key, []).append(max(0.0, wall - repeated))
        if values:
            self.values.setdefault(key, []).append(values)

    def _median(self, table: dict, key: tuple) -> float | None:
        config, case, strategy, cache = key
        for match in (
            lambda k: k == key,
            lambda k: (k[0], k[2], k[3]) == (config, strategy, cache),
            lambda k: (k[0], k[3]) == (config, cache),
        ):
            seen = [v for k, vs in table.items() if match(k) for v in vs]
            if seen:
                return statistics.median(seen)
        return None

    def predicted(self, key: tuple) -> float:
        """Seconds a worker of ``key`` is expected to take (0 when nothing like it has run)."""
        return self._median(self.walls, key) or 0.0

    def affords(self, key: tuple) -> bool:
        """Whether a worker of ``key`` is predicted to end within the budget."""
        return self.predicted(key) <= self.left()

    def refuse(self, key: tuple) -> str:
        """A planned worker of ``key`` does not run: counted, and why (its skipped row's error)."""
        self.skipped += 1
        return (
            f"{BUDGET_REFUSED}{max(0.0, self.left()):.0f} s of {self.seconds:.0f} s left, "
            f"this worker predicted to take {self.predicted(key):.0f} s"
        )

    def repeat_budget(self, key: tuple, most: float, remaining: Iterable[tuple[tuple, bool]]) -> float:
        """Seconds of timed repeats each value of the next worker (``key``) may take: at most ``most`` (its
        config's ``run.budget_s``); less where the time left, less what the workers still planned are
        predicted to take besides their repeats, shares out less over their auto-repeated values; at least 0.
        ``remaining``: ``(key, repeated)`` of the planned workers from this one on (``repeated``: it has
        auto repeats that a repeat budget shortens; otherwise its whole predicted time counts)."""
        remaining = list(remaining) or [(key, True)]
        fixed = sum(
            (self._median(self.overheads, k) if repeated else self._median(self.walls, k)) or 0.0
            for k, repeated in remaining
        )
        values = sum(self._median(self.values, k) or DEFAULT_VALUES for k, repeated in remaining if repeated)
        share = (self.left() - fixed) / max(values, 1)
        given = round(min(most, max(0.0, share)), 3)
        self.given.append((given, most))
        return given

    def describe(self) -> dict:
        """What env.json records of the budget: its seconds, what was spent, and what gave way."""
        given = [g for g, _ in self.given]
        return {
            "budget_s": self.seconds,
            "spent_s": round(self.clock() - self.began, 1),
            "repeat_budget_s": {
                "workers": len(given),
                "cut": sum(1 for g, most in self.given if g < most),
                "min": min(given) if given else None,
                "median": round(statistics.median(given), 3) if given else None,
            },
            "added_processes": dict(self.extra),
            "planned_skipped": self.skipped,
        }

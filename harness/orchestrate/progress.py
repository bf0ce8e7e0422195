"""A progress bar for a run on a terminal: current config, case, worker, phase and ETA.

Off a terminal, or with --quiet, the run prints plain lines instead (one per
worker) or nothing; the bar is only a view, the runner works the same.
"""

from __future__ import annotations

from tqdm import tqdm


class Bar:
    """tqdm bar over a run's workers; the description follows the worker's phase."""

    def __init__(self, stream=None):
        self._stream = stream
        self._bar = None
        self._label = ""

    def start(self, total: int) -> None:
        self._bar = tqdm(
            total=total,
            unit="worker",
            file=self._stream,
            dynamic_ncols=True,
            bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} workers [{elapsed}<{remaining}]",
        )

    def grow(self, n: int) -> None:
        """``n`` more workers than planned (processes added where they disagree)."""
        self._bar.total += n
        self._bar.refresh()

    def begin(self, label: str) -> None:
        self._label = label
        self._bar.set_description_str(label)

    def phase(self, name: str) -> None:
        self._bar.set_description_str(f"{self._label}: {name}")

    def end(self) -> None:
        self._bar.update(1)

    def write(self, line: str) -> None:
        """Lines that must stay visible (failures, warnings), printed above the bar."""
        tqdm.write(line, file=self._stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

"""A validated config file as a frozen dataclass: what the config layer hands on (``schema`` builds it,
``cases`` expands it). A module of its own, so that neither needs the other to name it."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.config.run_section import RunSettings


@dataclass(frozen=True)
class Config:
    """A validated config file: a base model, run settings and a sweep."""

    name: str
    description: str
    source: str
    model: dict = field(hash=False)  # validated raw model fields (before sweep)
    run: RunSettings = None
    sweep: dict = field(default_factory=dict, hash=False)  # key -> tuple of values

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "model": dict(self.model),
            "run": {
                **({"mode": self.run.mode} if self.run.mode else {}),
                "framework": self.run.framework,
                "threads": self.run.threads,
                "strategies": list(self.run.strategies),
                "seed": self.run.seed,
                "repeats": dict(self.run.repeats),
                "warmup": dict(self.run.warmup),
                "processes": self.run.processes,
                "timeout_s": dict(self.run.timeouts),
                **({"max_memory_mb": self.run.max_memory_mb} if self.run.max_memory_mb else {}),
                "cache": "both" if len(self.run.caches) == 2 else self.run.caches[0],
                "min_time_s": self.run.min_time_s,
                "order": self.run.order,
                "precision": self.run.precision,
                "budget_s": self.run.budget_s,
                "max_processes": self.run.process_limit,
                "process_precision": self.run.process_precision,
                "device": self.run.device,
                "metric": self.run.metric,
                "pairing": self.run.pairing,
                **({"alternate": list(self.run.alternate)} if self.run.alternate else {}),
            },
            # No sweep is no key: an empty sweep is an error in a file a user writes.
            **({"sweep": {k: list(v) for k, v in self.sweep.items()}} if self.sweep else {}),
        }

"""The parent side of the side experiments: paired timings in one process, and the order effect
of naive timing (their workers are ``harness.worker.paired`` and ``harness.worker.naive``)."""

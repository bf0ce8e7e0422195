"""Does the machine's noise reach both cores alike? The experiment behind run.pairing's default (issue 34).

Duet benchmarking (Bulej et al., ICPE 2020) runs A and B at once on two cores, so that what the host does to
one it does to the other and their ratio keeps little of it. That holds where the cores share the noise and
do not slow each other. This measures both on the machine at hand: the same NumPy workload (a one-thread
512-wide MLP step, 5 calls a timing) on core 0 and core 1 at once for ``seconds``, then on core 0 alone;
it prints each side's median time per timing, how far two cores at once slow each other, and, over
windows of 0.25, 1 and 4 s, the spread of each core's log median, their correlation, and the spread of the
log ratio of the two cores (what a duet's ratio would carry) beside one core's (what a lone worker
carries). ``python -m harness.experiments.duet_noise [SECONDS]`` (default 40); docs/methodology.md quotes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import json, os, sys, time
import numpy as np
core, seconds, out, start = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
os.sched_setaffinity(0, {core})
rng = np.random.default_rng(core)
w1 = rng.standard_normal((512, 512)).astype(np.float32)
w2 = rng.standard_normal((512, 64)).astype(np.float32)
x = rng.standard_normal((64, 512)).astype(np.float32)
def step():
    h = np.tanh(x @ w1)
    return x.T @ ((h @ w2) @ w2.T * (1 - h * h))
for _ in range(50):
    step()
while time.time() < start:
    time.sleep(0.001)
rows = []
while time.time() < start + seconds:
    t0 = time.perf_counter()
    for _ in range(5):
        step()
    rows.append((time.time(), time.perf_counter() - t0))
json.dump(rows, open(out, "w"))
"""
WINDOWS = (0.25, 1.0, 4.0)


def _run(cores: list[int], seconds: float, folder: Path) -> list[np.ndarray]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.time() + 1.0
    outs = [folder / f"core{c}-{len(cores)}.json" for c in cores]
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(c), str(seconds), str(out), str(start)], env=env)
        for c, out in zip(cores, outs)
    ]
    for p in procs:
        p.wait()
    return [np.array(json.loads(out.read_text())) for out in outs]


def windows(seconds: float) -> list[float]:
    """The window widths a run of ``seconds`` has at least four of."""
    return [w for w in WINDOWS if 4 * w <= seconds]


def window_logs(rows: np.ndarray, start: float, end: float, width: float) -> np.ndarray:
    edges = np.arange(start, end - width, width)
    return np.log([np.median(rows[(rows[:, 0] >= a) & (rows[:, 0] < a + width), 1]) for a in edges])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    seconds = float(argv[0]) if argv else 40.0
    with tempfile.TemporaryDirectory(prefix="gradcost-duet-") as tmp:
        a, b = _run([0, 1], seconds, Path(tmp))
        (alone,) = _run([0], seconds, Path(tmp))
    print(
        f"median per timing: core 0 {np.median(a[:, 1]) * 1e3:.2f} ms and core 1 {np.median(b[:, 1]) * 1e3:.2f} ms "
        f"at once, core 0 alone {np.median(alone[:, 1]) * 1e3:.2f} ms "
        f"(at once {np.median(a[:, 1]) / np.median(alone[:, 1]):.2f}x as long)"
    )
    start, end = max(a[0, 0], b[0, 0]), min(a[-1, 0], b[-1, 0])
    for width in windows(seconds):
        la, lb = window_logs(a, start, end, width), window_logs(b, start, end, width)
        lone = window_logs(alone, alone[0, 0], alone[-1, 0], width)
        print(
            f"windows of {width:g} s: sd of log median core 0 {la.std():.3f}, core 1 {lb.std():.3f}, alone "
            f"{lone.std():.3f}; correlation of the two cores {np.corrcoef(la, lb)[0, 1]:.2f}; sd of their log "
            f"ratio {np.std(la - lb):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which cores a worker may run on: leased by the parent, applied by the worker before its framework.

A thread cap (OMP/OpenBLAS/XLA flags, ``torch.set_num_threads``) asks a framework
to use ``threads`` threads; it does not stop a framework's other pools from
computing (JAX with ``intra_op_parallelism_threads=1`` still ran on 1.9 cores of
2). CPU affinity does: a worker with ``threads: 1`` is pinned to one core, so
its work, on however many threads, shares that core.

Parent side: :class:`CoreLease` claims ``threads`` cores of those this process
may use, through one lock file per core (``fcntl.flock``), so two workers that
run at the same time on one machine -- two Dask workers, two runs -- never get
the same core; the kernel drops a lock when its holder dies. Child side:
:func:`apply_from_environment` pins every thread of the worker to the cores in
``GRADCOST_CPUS``, before the framework is imported. Standard library only:
the child side runs on every Python a measured release needs.
"""

from __future__ import annotations

import os
import tempfile
import time

CPUS_VARIABLE = "GRADCOST_CPUS"  # the cores a worker is given (parent -> worker)
SWITCH_VARIABLE = "GRADCOST_AFFINITY"  # "off": no pinning (an experiment; recorded in env.json)
LOCKS_VARIABLE = "GRADCOST_CPU_LOCKS"  # where the per-core lock files live
POLL_S = 0.05


def format_cpus(cpus) -> str:
    """'1', '0-3', '0,2,5-6': a CPU list as taskset and /proc write it."""
    cpus = sorted(set(int(c) for c in cpus))
    parts, start = [], None
    for i, c in enumerate(cpus):
        if start is None:
            start = c
        if i + 1 == len(cpus) or cpus[i + 1] != c + 1:
            parts.append(str(start) if start == c else f"{start}-{c}")
            start = None
    return ",".join(parts)


def parse_cpus(text: str) -> list:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return sorted(set(out))


def allowed() -> list | None:
    """The cores this process may run on (None where the OS cannot say: not Linux)."""
    get = getattr(os, "sched_getaffinity", None)
    if get is None:
        return None
    try:
        return sorted(get(0))
    except OSError:
        return None


def enabled(environ=None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get(SWITCH_VARIABLE, "on").lower() not in ("off", "0", "no", "false")


def capability(environ=None) -> dict:
    """For env.json: whether workers are pinned, to which cores they can be, and if not, why."""
    cores = allowed()
    listed = format_cpus(cores) if cores else None
    if not enabled(environ):
        return {"pinning": False, "reason": f"{SWITCH_VARIABLE}=off", "cpus_allowed": listed}
    if cores is None or not hasattr(os, "sched_setaffinity"):
        return {"pinning": False, "reason": "this OS has no sched_setaffinity (not Linux)", "cpus_allowed": None}
    try:
        os.sched_setaffinity(0, cores)  # a no-op that fails where pinning is forbidden
    except OSError as exc:
        return {"pinning": False, "reason": f"sched_setaffinity refused: {exc}", "cpus_allowed": listed}
    return {
        "pinning": True,
        "method": "sched_setaffinity of every worker thread, before the framework's import",
        "cpus_allowed": listed,
        "lock_dir": lock_dir(environ),
    }


def lock_dir(environ=None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(LOCKS_VARIABLE) or os.path.join(tempfile.gettempdir(), "gradcost-cpus")


class CoreLease:
    """``threads`` cores held for one worker, from the highest-numbered free one down (core 0
    takes most interrupts and the orchestrator's own polling); waits while too few are free.

    A worker asking for more cores than the machine allows gets all of them (``short`` says so).
    ``cpus`` is None where pinning is off or impossible: the worker then runs unpinned.
    """

    def __init__(self, threads: int, environ=None, cores=None, sleep=time.sleep):
        self.threads = max(1, int(threads or 1))
        self.environ = os.environ if environ is None else environ
        self.cores = cores if cores is not None else (allowed() if enabled(self.environ) else None)
        self.sleep = sleep
        self.cpus, self.short, self._held = None, False, []

    def __enter__(self) -> CoreLease:
        if not self.cores or not hasattr(os, "sched_setaffinity"):
            return self
        want = min(self.threads, len(self.cores))
        self.short = want < self.threads
        folder = _usable(lock_dir(self.environ))
        while True:
            self._held = self._claim(folder, want)
            if self._held:
                break
            self.sleep(POLL_S)
        self.cpus = sorted(core for core, _ in self._held)
        return self

    def _claim(self, folder: str, want: int) -> list:
        import fcntl

        held = []
        for core in sorted(self.cores, reverse=True):
            fh = _open_lock(os.path.join(folder, f"cpu{core}.lock"))
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            held.append((core, fh))
            if len(held) == want:
                return held
        for _, fh in held:  # not enough free: hold none, try again
            fh.close()
        return []

    def __exit__(self, *exc) -> None:
        for _, fh in self._held:
            fh.close()  # closing the file releases its lock
        self._held = []

    def environment(self) -> dict:
        """What the worker's environment gets: its cores, or nothing (unpinned)."""
        return {CPUS_VARIABLE: format_cpus(self.cpus)} if self.cpus else {}


def _usable(folder: str) -> str:
    """The lock folder, shared by every user of the machine (sticky and world-writable, as /tmp);
    a folder of this user's own if another user's is not writable."""
    for candidate in (folder, "{}-{}".format(folder, os.getuid() if hasattr(os, "getuid") else "user")):
        try:
            os.makedirs(candidate, exist_ok=True)
            try:
                os.chmod(candidate, 0o1777)
            except OSError:
                pass  # another user's folder: fine if it lets us write
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    raise OSError(f"no writable folder for the CPU lock files ({folder}); set {LOCKS_VARIABLE}")


def _open_lock(path: str):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        os.fchmod(fd, 0o666)  # the next user of the machine locks it too
    except OSError:
        pass
    return os.fdopen(fd, "r+")


def pin(cpus) -> str | None:
    """Pin every thread of this process to ``cpus`` (threads started later inherit it).
    Returns why it could not, or None."""
    setaffinity = getattr(os, "sched_setaffinity", None)
    if setaffinity is None:
        return "this OS has no sched_setaffinity"
    try:
        for tid in _thread_ids():
            try:
                setaffinity(tid, cpus)
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
    except OSError as exc:
        return f"sched_setaffinity({format_cpus(cpus)}) failed: {exc}"
    return None


def apply_from_environment(environ=None) -> dict:
    """The worker's first act: pin to ``GRADCOST_CPUS`` if the parent leased cores.
    Returns what to record: the cores asked for, and an error if pinning failed."""
    environ = os.environ if environ is None else environ
    text = environ.get(CPUS_VARIABLE)
    if not text:
        return {}
    error = pin(parse_cpus(text))
    return {"cpus_leased": text, "affinity_error": error} if error else {"cpus_leased": text}


def current() -> str | None:
    """The cores this process's threads may run on now, all of them together, as a CPU list
    (the evidence recorded per worker: a pool started after pinning inherits the pin)."""
    get = getattr(os, "sched_getaffinity", None)
    if get is None:
        return None
    cores = set()
    for tid in _thread_ids():
        try:
            cores |= get(tid)
        except OSError:  # a thread that ended meanwhile
            pass
    return format_cpus(cores) if cores else None


def _thread_ids() -> list:
    """Every thread of this process (Linux), or the calling thread alone (0) where /proc cannot say."""
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]

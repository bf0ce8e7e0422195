"""What gradcost measures, as plain data: frameworks and their modes, strategies, phases, devices.

Nothing here imports a framework. The config validates against it, the
orchestrator picks each worker's interpreter and environment variables from
it, and the worker asks it which phases to measure. Adding a framework is one
entry here, one module under ``harness/backends/`` and one requirements file
under ``envs/``; adding a phase is one entry in ``ALL_PHASES`` (and the worker
step that measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

# The gradient strategies, in every framework.
GRADIENT_STRATEGIES = ("single", "per_param", "per_param_separate")
# primal: the loss alone (forward pass and loss, no gradient), built and compiled as the framework builds
# its gradient: what every gradient is held against (derivative / primal, as ADBench and GradBench report).
PRIMAL = "primal"
# numpy_reference: a hand-written NumPy forward and backward pass, timed as a
# baseline (and its forward pass alone), with NumPy's matrix-product throughput as the hardware limit.
NUMPY_REFERENCE = "numpy_reference"
# single_aa: a second single (the A/A control), measured only where a run pairs its workers (run.pairing): its
# ratio to single, through the same pairing, should be 1 within its CI (harness.analysis.pairs).
CONTROL = "single_aa"
CONFIG_STRATEGIES = (*GRADIENT_STRATEGIES, PRIMAL, NUMPY_REFERENCE)  # what run.strategies may list
STRATEGIES = (*CONFIG_STRATEGIES, CONTROL)  # every strategy a run's rows can hold, in display order
PAIRINGS = ("none", "sequential", "block", "duet")  # run.pairing: how a case's workers are measured together
FRAMEWORK_STRATEGIES = (*GRADIENT_STRATEGIES, PRIMAL)  # those measured in the case's framework
# run.alternate: phases a worker may time alternately with single's in its own process (ABBA): building and
# compiling graphs, not execute: its two identical functions differed by 5.8% side by side in one process
# (docs/findings.md); first_call is once per process by what it is.
ALTERNATE_PHASES = ("construct", "compile")
PAIRED_STRATEGIES = ("single", "per_param")  # the paired experiment: compiled in one process, timed alternately
REPEATED_PHASES = ("construct", "compile", "execute")  # the phases with repeats and warmup
# forward: the NumPy reference's forward pass and loss alone (the hand-written primal).
ALL_PHASES = ("construct", "compile", "first_call", "execute", "forward", "transfer", "matmul")
RATIO_PHASES = ("first_call", "execute")  # the phases a gradient is held against its primal in
DEVICES = ("cpu", "gpu")
AUTO = "auto"  # repeats: as many as the stop rule asks for (harness.worker.timing.StopRule)
DEFAULT_PRECISION = 0.02  # auto repeats: half-width of a process's median CI / median
DEFAULT_BUDGET_S = 5.0  # auto repeats: seconds of timed repeats per phase and worker
DEFAULT_FRAMEWORK = "theano"


EXPECTED_FAILURE = "expected failure"  # a worker's status: it failed as its framework declares it will


@dataclass(frozen=True)
class ExpectedFailure:
    """A failure a framework mode is known to have, declared so that it is data, not a red run
    (as GradBench declares each tool's expected outcomes). A worker whose error contains ``error``
    is recorded as ``expected failure``; one that succeeds is reported as an unexpected pass."""

    mode: str
    error: str  # text the worker's error contains
    reason: str  # why, in words: what fails and where it was found


@dataclass(frozen=True)
class Framework:
    """One framework: its execution modes and how its workers are run."""

    name: str
    modes: tuple[str, ...]
    default_mode: str
    distribution: str  # the package whose version env.json records
    # Modes whose compiled function is built when first called, not by the compile call:
    # there, first_call carries that compilation (the report and docs/frameworks.md say so).
    lazy_modes: tuple[str, ...] = ()
    # Modes with no compile call to time (PyTorch eager has nothing to compile;
    # torch.compile only wraps the function): no compile phase.
    uncompiled_modes: tuple[str, ...] = ()
    # Environment variables that receive the compile-cache folder (warm: shared; cold: empty).
    cache_variables: tuple[str, ...] = ()
    # What persists between processes in that folder, in words (recorded in env.json).
    cache_kind: str = ""
    # Modes that can run on a GPU (device: gpu); the others are CPU-only.
    gpu_modes: tuple[str, ...] = ()
    # Whether building the loss alone is work of its own to time (JAX traces it; Theano-like frameworks build
    # the loss with the model, before any gradient; PyTorch's primal records no graph).
    primal_construct: bool = False
    # Modes that copy the parameters from the host to the device at every call (PyTensor's JAX
    # backend: shared variables are NumPy arrays): that copy is timed alone too (phase transfer).
    copying_modes: tuple[str, ...] = ()
    expected_failures: tuple[ExpectedFailure, ...] = ()
    # Modes that cannot be counted under callgrind (metric instructions), with the reason: their cases are
    # skipped with it (harness.orchestrate.counting), as GPU cases are without a GPU.
    uncountable_modes: tuple[tuple[str, str], ...] = ()

    def uncountable(self, mode: str) -> str | None:
        return next((why for m, why in self.uncountable_modes if m == mode), None)

    def expected_failure(self, mode: str) -> ExpectedFailure | None:
        """The failure declared for ``mode``, if any."""
        return next((f for f in self.expected_failures if f.mode == mode), None)

    def phases(self, mode: str, strategy: str) -> tuple[str, ...]:
        """The phases a warm worker of this mode and strategy measures, in order."""
        if strategy == NUMPY_REFERENCE:
            return ("execute", "forward", "matmul")
        if strategy == PRIMAL:
            return (
                *(("construct",) if self.primal_construct else ()),
                *(("compile",) if mode not in self.uncompiled_modes else ()),
                "first_call",
                "execute",
            )
        phases = []
        # per_param_separate builds exactly what per_param builds; torch.compile's forward
        # pass runs a compiled function, which is no construction of a gradient graph.
        if strategy != "per_param_separate" and not (self.name == "torch" and mode == "compile"):
            phases.append("construct")
        if mode not in self.uncompiled_modes:
            phases.append("compile")
        return (*phases, "first_call", "execute") + (("transfer",) if mode in self.copying_modes else ())

    def cold_phases(self, mode: str) -> tuple[str, ...]:
        """What a cold worker (an empty compile cache) measures: the phases that compile."""
        return (("compile",) if mode not in self.uncompiled_modes else ()) + (
            ("first_call",) if mode in self.lazy_modes else ()
        )

    def has_cold_cache(self, mode: str) -> bool:
        return bool(self.cache_variables) and bool(self.cold_phases(mode))


FRAMEWORKS = {
    "theano": Framework(
        name="theano",
        modes=("FAST_RUN", "FAST_COMPILE", "NO_OPT"),
        default_mode="FAST_RUN",
        distribution="theano-pymc",
        cache_variables=("GRADCOST_COMPILEDIR",),
        cache_kind="Theano compiledir (C modules of the compiled ops)",
    ),
    # Theano's fork between Theano-PyMC and PyTensor (2021-2024): measured as a release of the lineage only
    # (envs/aesara-VERSION.txt); it has no default environment.
    "aesara": Framework(
        name="aesara",
        modes=("FAST_RUN", "FAST_COMPILE"),
        default_mode="FAST_RUN",
        distribution="aesara",
        cache_variables=("GRADCOST_COMPILEDIR",),
        cache_kind="Aesara compiledir (C modules of the compiled ops)",
    ),
    "pytensor": Framework(
        name="pytensor",
        modes=("CVM", "C", "NUMBA", "JAX", "PYTORCH", "FAST_COMPILE"),
        default_mode="NUMBA",
        distribution="pytensor",
        lazy_modes=("NUMBA", "JAX", "PYTORCH"),
        cache_variables=("GRADCOST_COMPILEDIR", "NUMBA_CACHE_DIR"),
        cache_kind="PyTensor compiledir (C modules) and Numba's cache",
        gpu_modes=("JAX",),
        copying_modes=("JAX",),  # its JAX backend; shared variables stay on the host
        expected_failures=(
            ExpectedFailure(
                "PYTORCH",
                "TypeError: 'bool' object is not subscriptable",
                "PyTensor's PyTorch backend (3.0.7 and 3.3.7 alike) cannot run this MLP's loss, so neither "
                "its gradient: scalar_from_tensor is handed a Python bool (the gradient seen failing in every "
                "framework run since 2026-11-28, the loss alone since 2026-12-02; 3.3.7 with PyTorch "
                "2.15.0 on 2026-12-03)",
            ),
        ),
    ),
    "jax": Framework(
        name="jax",
        modes=("jit",),
        default_mode="jit",
        distribution="jax",
        cache_variables=("JAX_COMPILATION_CACHE_DIR",),
        cache_kind="JAX persistent compilation cache (XLA executables)",
        gpu_modes=("jit",),
        primal_construct=True,
    ),
    "torch": Framework(
        name="torch",
        modes=("eager", "compile"),
        default_mode="eager",
        distribution="torch",
        lazy_modes=("compile",),
        uncompiled_modes=("eager", "compile"),
        cache_variables=("TORCHINDUCTOR_CACHE_DIR",),
        cache_kind="TorchInductor cache (generated kernels, FX graph cache)",
        gpu_modes=("eager", "compile"),
        uncountable_modes=(
            (
                "compile",
                "torch.compile's generated C++ kernels are built for the host CPU (AVX-512 here), which valgrind "
                "3.19 cannot decode: the worker dies with SIGILL in the first call (seen 2026-12-02)",
            ),
        ),
    ),
}


def framework(name: str) -> Framework:
    return FRAMEWORKS[name]

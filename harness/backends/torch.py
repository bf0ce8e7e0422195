"""PyTorch: autograd on a forward pass, eager or through ``torch.compile``. Workers only.

Phases: construct = the forward pass that records the autograd graph (eager
only); there is no compile call (eager has nothing to compile; ``torch.compile``
compiles when first called), so first_call carries the compilation in compile
mode, and there is no compile phase. Strategies: ``single`` = one
``autograd.grad`` over all parameters; ``per_param`` = n ``autograd.grad``
calls on one forward pass (``retain_graph``); ``per_param_separate`` = n
forward+backward passes (compile mode: n separately compiled forwards, each
with only its parameter requiring a gradient); ``primal`` = the forward pass and
loss under ``no_grad`` (compile mode: compiled so), no graph recorded.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from harness.backends.forward import logits
from harness.backends.sync import then_wait
from harness.core.model import Model

_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _loss_function(model: Model) -> Callable:
    """A new function object each call, so each compiled function is compiled on its own."""
    act = _ACTIVATIONS[model.activation]

    def loss(params, x, y):
        h = logits(model, params, x, act)
        if model.loss == "softmax_cross_entropy":
            return F.cross_entropy(h, y)
        return torch.mean((h - y) ** 2)

    return loss


def autograd_nodes(roots) -> int:
    """Distinct nodes of the autograd graph(s) reachable from the outputs' grad_fn."""
    seen, stack = set(), [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)


class TorchBackend:
    def __init__(self, model: Model, values: list, x: np.ndarray, y: np.ndarray, mode: str, device: str = "cpu"):
        self.model, self.mode = model, mode
        # Parameters and batch live on the device before anything is timed.
        self.device = torch.device("cuda" if device == "gpu" else "cpu")
        self.params = [torch.tensor(v, requires_grad=True, device=self.device) for v in values]
        self.x = torch.from_numpy(x).to(self.device)
        self.y = (
            torch.from_numpy(y.astype(np.int64)) if model.loss == "softmax_cross_entropy" else torch.from_numpy(y)
        ).to(self.device)
        self.captured_nodes: list[int] = []  # FX graph nodes of what torch.compile captured
        self.sync()

    def sync(self) -> None:
        """Wait for the device: CUDA kernels are launched asynchronously, and a timed region that
        did not wait would time the launches. On the CPU, results are ready when returned."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def synced(self, call: Callable[[], list]) -> Callable[[], list]:
        """``call``, then wait for the device: every timed call ends with the synchronisation."""
        return then_wait(call, self.sync)

    def _compiled(self, loss: Callable) -> Callable:
        if self.mode == "eager":
            return loss
        from torch._inductor.compile_fx import compile_fx

        def counting_backend(gm, example_inputs):
            self.captured_nodes.append(len(gm.graph.nodes))
            return compile_fx(gm, example_inputs)

        return torch.compile(loss, backend=counting_backend, fullgraph=True)

    def construct(self, strategy: str) -> list:
        """The forward pass(es) that record the autograd graph: the losses (eager in every mode:
        in compile mode, only the evidence of what the gradients walk through)."""
        p, x, y = self.params, self.x, self.y
        if strategy == "primal":
            return []  # no autograd graph: the primal runs under no_grad
        if strategy == "per_param_separate":
            return [_loss_function(self.model)(p, x, y) for _ in p]
        return [_loss_function(self.model)(p, x, y)]

    def compile(self, strategy: str, losses: list, clock):
        raise RuntimeError("PyTorch has no separate compile step (torch.compile compiles when first called)")

    def executable(self, strategy: str, losses: list, compiled) -> Callable[[], list]:
        p, x, y, n = self.params, self.x, self.y, len(self.params)
        if strategy == "primal":
            f = self._compiled(_loss_function(self.model))

            def primal():
                with torch.no_grad():
                    return [f(p, x, y)]

            return self.synced(primal)
        if strategy == "single":
            f = self._compiled(_loss_function(self.model))
            return self.synced(lambda: list(torch.autograd.grad(f(p, x, y), p)))
        if strategy == "per_param":
            f = self._compiled(_loss_function(self.model))

            def call():
                loss = f(p, x, y)
                return [torch.autograd.grad(loss, q, retain_graph=i < n - 1)[0] for i, q in enumerate(p)]

            return self.synced(call)
        # per_param_separate: n functions, each its own forward pass and the gradient of one parameter.
        views = [[q if j == i else q.detach() for j, q in enumerate(p)] for i in range(n)]
        fs = [self._compiled(_loss_function(self.model)) for _ in range(n)]
        return self.synced(
            lambda: [torch.autograd.grad(f(v, x, y), v[i])[0] for i, (f, v) in enumerate(zip(fs, views))]
        )

    def forget_compiled(self) -> None:
        """Drop what torch.compile keeps in memory, so the next compile uses the disk cache only."""
        torch._dynamo.reset()
        self.captured_nodes.clear()

    def to_numpy(self, outputs: list) -> list:
        return [o.detach().cpu().numpy() for o in outputs]

    def matmul(self, a: np.ndarray, b: np.ndarray, ta: bool, tb: bool) -> Callable[[], list]:
        """One matrix product, as autograd and Inductor run theirs (aten::mm on strided views)."""
        A, B = torch.from_numpy(a).to(self.device), torch.from_numpy(b).to(self.device)

        def call():
            with torch.no_grad():
                return [(A.T if ta else A) @ (B.T if tb else B)]

        return self.synced(call)

    def graph(self, strategy: str, losses: list, compiled) -> dict:
        n_functions = len(self.params) if strategy == "per_param_separate" else 1
        # The backward pass runs in autograd, op by op, in every mode: there is no compiled
        # gradient function to fingerprint (torch.compile captures the forward loss only).
        out = {
            "n_functions": n_functions,
            "fingerprint_of": "none: gradients come from autograd, not a compiled function",
        }
        if losses:
            out.update(nodes_unoptimized=autograd_nodes(losses), nodes_unoptimized_unit="autograd graph nodes")
        if self.captured_nodes:
            out.update(
                nodes_optimized=sum(self.captured_nodes),
                nodes_optimized_unit="FX graph nodes captured by torch.compile",
            )
        return out

    def info(self) -> dict:
        info = {
            "torch_version": torch.__version__,
            "intra_op_threads": torch.get_num_threads(),
            "inductor_cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
            "device": str(self.device),
        }
        if self.device.type == "cuda":
            info.update(
                gpu=torch.cuda.get_device_name(self.device),
                cuda=torch.version.cuda,
                tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                tf32_cudnn=torch.backends.cudnn.allow_tf32,
                float32_matmul_precision=torch.get_float32_matmul_precision(),
            )
        return info


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> TorchBackend:
    if threads:
        torch.set_num_threads(threads)
    if device == "gpu":
        # float32 means float32: TF32 (10-bit mantissa products) off, recorded in info().
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    if mode == "compile":
        import torch._dynamo.config as dynamo

        # per_param_separate compiles one function per parameter (34 at depth 16): past dynamo's
        # default limit of 8 it would quietly run the rest eagerly.
        dynamo.recompile_limit = dynamo.accumulated_recompile_limit = 100_000
        # Donated buffers (AOTAutograd frees saved tensors in backward) forbid retain_graph, which
        # per_param's n backward calls on one forward need; off for every strategy, so all compare alike.
        import torch._functorch.config as functorch

        functorch.donated_buffer = False
    return TorchBackend(model, values, x, y, mode, device)

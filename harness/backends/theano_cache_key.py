"""Theano-PyMC 1.1.2 recompiles some C modules in every process; this keeps them in the cache.

Theano's C module key has a version: one entry per op and type of the
compiled graph, and any empty entry marks the whole module "unversioned",
which Theano never keeps on disk. By mistake it also adds each op's
``__props__``, which is ``()`` for ops without parameters (Dot22,
SoftmaxWithBias, CrossentropySoftmax1HotWithBiasDx, ...). Every graph with
such an op is compiled with gcc again in each new process: 3-4 modules and
about 1.4 s per gradient worker here. Aesara fixed it (aesara-devs/aesara#1108,
2022: empty ``__props__`` are not added); PyTensor has the fix.

``apply()`` applies the same fix to this process. Workers with a warm cache
call it (see harness.backends.theano): their timed compile runs after an
untimed build that already compiled these modules in the same process, so
what they time is unchanged; only the untimed gcc calls go. Cold-cache workers
never call it: they measure stock Theano compiling into an empty compiledir.

The one piece of this inside a timed region: a warm timed compile still asks for
the key of each such op's module, and the wrapper then lists that one-node
graph's versions a second time (microseconds, against a compile of 40 ms or
more; the A/B in docs/methodology.md found no difference). Copying Theano's whole
``cmodule_key_`` to avoid it would be a larger patch of Theano.
"""

from __future__ import annotations

import functools


def versions(linker, fgraph) -> tuple:
    """The version entries of ``fgraph``'s key, as Theano builds them, minus empty ``__props__``."""
    from theano.link.c.interface import CLinkerObject

    out = []
    for node in linker.schedule(fgraph):
        op = node.op
        if hasattr(op, "c_code_cache_version_apply"):
            out.append(op.c_code_cache_version_apply(node))
        if getattr(op, "__props__", ()):
            out.append(op.__props__)
        out += [
            v.type.c_code_cache_version() for v in (*node.inputs, *node.outputs) if isinstance(v.type, CLinkerObject)
        ]
    return tuple(out)


def fixed(original):
    """``CLinker.cmodule_key_`` that versions a module whose only empty entries were ``__props__``."""

    @functools.wraps(original)
    def cmodule_key_(self, fgraph, *args, **kwargs):
        key = original(self, fgraph, *args, **kwargs)
        if key is None or key[0]:  # not cacheable at all, or already versioned
            return key
        version = versions(self, fgraph)
        return (version, key[1]) if all(version) else key

    cmodule_key_.gradcost_fixed = True
    return cmodule_key_


def apply() -> bool:
    """Patch Theano's CLinker in this process (idempotent); True once it is patched."""
    from theano.link.c.basic import CLinker

    if not getattr(CLinker.cmodule_key_, "gradcost_fixed", False):
        CLinker.cmodule_key_ = fixed(CLinker.cmodule_key_)
    return True

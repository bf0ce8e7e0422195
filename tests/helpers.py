from harness.core.model import Model


def tiny_model(**overrides) -> Model:
    fields = dict(
        input=5,
        hidden=(4, 3),
        output=3,
        activation="sigmoid",
        loss="softmax_cross_entropy",
        biases=True,
        floatX="float64",
        batch=4,
    )
    fields.update(overrides)
    return Model(**fields)


def fake_worker(task, env, timeouts):
    """Answers a task like a worker would, instantly: rows for every phase it reports."""
    from harness.core.registry import framework

    spec = framework(task.get("framework", "theano"))
    phases = (
        spec.cold_phases(task["mode"]) if task.get("cache") == "cold" else spec.phases(task["mode"], task["strategy"])
    )

    def count(phase):  # as the real worker: one first call, matmul repeated like execute
        if task.get("cache") == "cold" or phase == "first_call":
            return 1
        n = task["repeats"]["execute" if phase in ("forward", "matmul", "transfer") else phase]
        return 6 if n == "auto" else n

    rows = [{"phase": p, "repeat": i, "seconds": 0.01 * (i + 1), "loops": 1} for p in phases for i in range(count(p))]
    result = {"status": "ok", "measurements": rows, "check": {"vs_numpy": 0.0}}
    if task["strategy"] != "numpy_reference":
        result["graph"] = {"nodes_unoptimized": 9, "nodes_optimized": 4, "n_functions": 1}
    return result

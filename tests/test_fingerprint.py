"""Fingerprints of compiled functions: equal for equal graphs, different when one op differs."""

import pytest
from helpers import tiny_model

from harness.backends import fingerprint
from harness.core.data import init_params, make_batch

HLO = """HloModule jit_{module}, is_scheduled=true

FileNames
1 "/somewhere/{module}.py"

%fused_computation (param_0.2: f32[3,2]) -> f32[] {{
  %param_0.2 = f32[3,2]{{1,0}} parameter(0)
  %{op}.0 = f32[3,2]{{1,0}} {op}(%param_0.2), metadata={{op_name="jit({module})/{op}" stack_frame_id=2}}
  ROOT %reduce_sum.0 = f32[] reduce(%{op}.0, %constant.0), dimensions={{0,1}}, to_apply=%region_0.1
}}

ENTRY %main.{entry} ({arg}.1: f32[3,4], b.1: f32[4,2]) -> f32[] {{
  %{arg}.1 = f32[3,4]{{1,0}} parameter(0), metadata={{op_name="{arg}"}}
  ROOT %fusion = f32[] fusion(%{arg}.1), kind=kLoop, calls=%fused_computation
}}
"""


def hlo(module="f", op="tanh", entry=2, arg="a"):
    return HLO.format(module=module, op=op, entry=entry, arg=arg)


def test_hlo_fingerprint_ignores_names_and_metadata_but_not_ops():
    key = lambda text: fingerprint.digest(fingerprint.canonical_hlo(text))  # noqa: E731
    assert key(hlo()) == key(hlo(module="grad_i", entry=45, arg="params"))
    assert key(hlo()) != key(hlo(op="exp"))
    assert "metadata" not in fingerprint.canonical_hlo(hlo()) and "FileNames" not in fingerprint.canonical_hlo(hlo())


def test_combine_keeps_one_function_and_orders_several():
    assert fingerprint.combine(["ab"]) == "ab"
    assert fingerprint.combine(["ab", "cd"]) != fingerprint.combine(["cd", "ab"])
    assert fingerprint.without_addresses("<Op object at 0x7f12ab>") == "<Op object>"


theano = pytest.importorskip("theano")
from harness.backends import theano as theano_backend  # noqa: E402


def compiled(strategy, **model_fields):
    model = tiny_model(**model_fields)
    values = init_params(model, 0)
    x, y = make_batch(model, 0)
    b = theano_backend.backend(model, values, x, y, "FAST_RUN")
    grads = b.construct(strategy)
    return b.graph(strategy, grads, b.functions(strategy, grads))


@pytest.mark.slow
def test_theano_fingerprint_is_equal_for_equal_graphs_and_differs_with_one_op():
    first, again = compiled("single"), compiled("single")  # two compiles, new variables, same graph
    assert first["fingerprint"] == again["fingerprint"] and len(first["fingerprint"]) == 16
    # The question's finding in small: per_param's n grad calls are merged into single's function.
    assert compiled("per_param")["fingerprint"] == first["fingerprint"]
    assert compiled("single", activation="tanh")["fingerprint"] != first["fingerprint"]  # one op differs
    assert compiled("per_param_separate")["fingerprint"] != first["fingerprint"]


@pytest.mark.slow
def test_report_says_in_words_whether_per_param_runs_singles_function():
    import pandas as pd

    from harness.report import markdown

    summary = pd.DataFrame(columns=["config", "case", "cache", "phase", "strategy", "median"])
    row = {
        "config": "c",
        "case": "k",
        "nodes_unoptimized": 10,
        "nodes_optimized": 5,
        "fingerprint_of": "compiled theano function graphs",
    }
    graphs = pd.DataFrame(
        [{**row, "strategy": "single", "fingerprint": "aaaa"}, {**row, "strategy": "per_param", "fingerprint": "aaaa"}]
    )
    text = "\n".join(markdown.answer("c", "k", summary, graphs))
    assert "`per_param`'s compiled function is identical to `single`'s" in text
    graphs.loc[1, "fingerprint"] = "bbbb"
    text = "\n".join(markdown.answer("c", "k", summary, graphs))
    assert "is not the same as `single`'s" in text and "aaaa vs bbbb" in text
    graphs["fingerprint"] = None  # PyTorch, or a run from before fingerprints: nothing said
    assert "compiled function" not in "\n".join(markdown.answer("c", "k", summary, graphs))

"""Property-based: any YAML document either loads or raises ConfigError."""
import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases import expand
from harness.config import ConfigError, load_config, parse_config

VALID = {
    "name": "p",
    "model": {"input": 4, "depth": 2, "width": 3, "output": 2, "activation": "tanh",
              "loss": "mse", "biases": False, "floatX": "float32", "batch": 2},
    "run": {"mode": "FAST_RUN", "strategies": ["single", "per_param"], "seed": 1,
            "repeats": {"construct": 2, "compile": 1, "execute": 2}, "warmup": 0, "timeout_s": 60},
    "sweep": {"depth": [1, 2], "mode": ["FAST_RUN", "NO_OPT"]},
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 40), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["sigmoid", "relu", "FAST_RUN", "single", "float32"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(
        ["model", "run", "sweep", "input", "hidden", "depth", "width", "output", "repeats", "mode"])),
        inner, max_size=4)), max_leaves=12)


def loads_or_config_error(doc):
    try:
        config = parse_config(doc, source="prop.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("prop.yaml")
        return None
    assert expand(config)
    return config


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values)
def test_arbitrary_documents(doc):
    loads_or_config_error(doc)


PATHS = [("model", k) for k in VALID["model"]] + [("run", k) for k in VALID["run"]] + \
        [("sweep", k) for k in VALID["sweep"]] + [("name",), ("model",), ("run",), ("sweep",)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(values, st.just("<delete>"))), min_size=1, max_size=3))
def test_mutations_of_a_valid_config(mutations):
    doc = copy.deepcopy(VALID)
    for path, value in mutations:
        target = doc
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                break
            target = target[key]
        else:
            if value == "<delete>":
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
    loads_or_config_error(doc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_arbitrary_text_files(tmp_path, text):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


def test_valid_base_loads():
    config = parse_config(copy.deepcopy(VALID), source="prop.yaml")
    assert len(expand(config)) == 4
    assert yaml.safe_load(yaml.safe_dump(VALID)) == VALID

"""Property-based: any YAML document either loads or raises ConfigError."""

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.cases import expand
from harness.config.schema import DEFAULT_MODEL, ConfigError, load_config, parse_config

VALID = {
    "name": "p",
    "model": {
        "input": 4,
        "depth": 2,
        "width": 3,
        "output": 2,
        "activation": "tanh",
        "loss": "mse",
        "biases": False,
        "floatX": "float32",
        "batch": 2,
    },
    "run": {
        "mode": "FAST_RUN",
        "strategies": ["single", "per_param"],
        "seed": 1,
        "repeats": {"construct": 2, "compile": 1, "execute": 2},
        "warmup": 0,
        "timeout_s": 60,
    },
    "sweep": {"depth": [1, 2], "mode": ["FAST_RUN", "NO_OPT"]},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["sigmoid", "relu", "FAST_RUN", "single", "float32"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.text(max_size=10),
                st.sampled_from(
                    ["model", "run", "sweep", "input", "hidden", "depth", "width", "output", "repeats", "mode"]
                ),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def _plain(value):
    """Lists for tuples, all the way down (a config keeps its sweep's values as tuples)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def loads_or_config_error(doc, touched=None):
    """Either a config that holds what the document says, or a ConfigError that names a field the document
    got wrong. ``touched``: the sections a test changed in a valid document (the error must be in one of
    them; a model and a sweep are checked together, case by case)."""
    try:
        config = parse_config(doc, source="prop.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("prop.yaml")
        if touched is not None:
            section = exc.path.split(" ")[0].split(".")[0].split("[")[0]
            allowed = set(touched) | ({"model", "sweep"} if {"model", "sweep"} & set(touched) else set())
            assert section in allowed or (section == "(top" and "(top level)" in exc.path), (exc.path, touched)
        return None
    assert expand(config)
    # What loaded is what the document says, with the documented defaults filled in.
    assert config.name == doc.get("name", "config")
    assert config.model == {**DEFAULT_MODEL, **doc["model"]}
    sweep = doc.get("sweep") or {}
    assert _plain(config.sweep) == _plain(sweep)
    run = doc.get("run") or {}
    if "strategies" in run:
        assert list(config.run.strategies) == run["strategies"]
    if "seed" in run:
        assert config.run.seed == run["seed"]
    if "mode" in run:
        assert config.run.mode == run["mode"]
    return config


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values)
def test_arbitrary_documents(doc):
    loads_or_config_error(doc)


PATHS = (
    [("model", k) for k in VALID["model"]]
    + [("run", k) for k in VALID["run"]]
    + [("sweep", k) for k in VALID["sweep"]]
    + [("name",), ("model",), ("run",), ("sweep",)]
)


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
    loads_or_config_error(doc, touched={path[0] for path, _ in mutations})


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


# Valid configs, generated field by field: every key optional where the format allows it.
_models = st.fixed_dictionaries(
    {"input": st.integers(1, 9), "output": st.integers(1, 5)},
    optional={
        "activation": st.sampled_from(["sigmoid", "tanh", "relu"]),
        "loss": st.sampled_from(["softmax_cross_entropy", "mse"]),
        "biases": st.booleans(),
        "floatX": st.sampled_from(["float32", "float64"]),
        "batch": st.integers(1, 8),
    },
)
_layouts = st.one_of(
    st.fixed_dictionaries({"depth": st.integers(1, 4), "width": st.integers(1, 6)}),
    st.fixed_dictionaries({"hidden": st.lists(st.integers(1, 6), min_size=1, max_size=3)}),
)
_phases = st.one_of(
    st.integers(1, 5),
    st.fixed_dictionaries({}, optional={p: st.integers(1, 5) for p in ("construct", "compile", "execute")}),
)
_runs = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["FAST_RUN", "FAST_COMPILE", "NO_OPT"]),
        "threads": st.integers(1, 4),
        "strategies": st.lists(
            st.sampled_from(["per_param", "per_param_separate", "numpy_reference"]), unique=True
        ).map(lambda s: ["single", *s]),
        "seed": st.integers(0, 99),
        "repeats": _phases,
        "warmup": st.one_of(st.integers(0, 3), st.fixed_dictionaries({}, optional={"execute": st.integers(0, 3)})),
        "processes": st.integers(1, 3),
        "timeout_s": st.one_of(
            st.integers(1, 900),
            st.floats(0.5, 900),
            st.fixed_dictionaries({}, optional={"compile": st.integers(1, 60), "default": st.floats(1, 60)}),
        ),
        "max_memory_mb": st.integers(1, 10**5),
        "cache": st.sampled_from(["warm", "cold", "both"]),
        "min_time_s": st.floats(0.001, 1),
        "order": st.sampled_from(["shuffled", "as_listed"]),
    },
)
_sweeps = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["depth", "batch", "mode", "threads", "activation"]), st.just(None), min_size=1, max_size=3
    ),
)
_SWEEP_VALUES = {
    "depth": [1, 3],
    "batch": [2, 4],
    "mode": ["FAST_RUN", "NO_OPT"],
    "threads": [1, 2],
    "activation": ["tanh", "relu"],
}


@st.composite
def valid_configs(draw):
    doc = {"name": draw(st.sampled_from(["q", "2026", "net-1"])), "model": {**draw(_models), **draw(_layouts)}}
    run = draw(_runs)
    if draw(st.booleans()):
        doc["run"] = run
    sweep = draw(_sweeps)
    if sweep is not None:
        # depth is swept only with a width to go with it (a 'hidden' list is a whole layout).
        doc["sweep"] = {k: _SWEEP_VALUES[k] for k in sweep if k != "depth" or "width" in doc["model"]} or None
        if doc["sweep"] is None:
            del doc["sweep"]
    if draw(st.booleans()):
        doc["description"] = draw(st.text(max_size=20))
    return parse_config(doc, source="gen.yaml")


@settings(max_examples=300, deadline=None)
@given(valid_configs())
def test_recorded_config_parses_back_to_the_same_config(config):
    """What env.json records (as_dict through JSON) parses back to an equal config (issue 9)."""
    import json

    from harness.config.recorded import config_from_dict

    recorded = json.loads(json.dumps(config.as_dict()))
    # The parser a user's file goes through, with nothing forgiven...
    again = parse_config(
        {k: v for k, v in recorded.items() if k != "source"}, source=recorded["source"], default_name=recorded["name"]
    )
    assert again == config
    assert config_from_dict(recorded) == config  # ...and the one resume uses
    assert again.as_dict() == config.as_dict()
    assert [c.name for c in expand(again)] == [c.name for c in expand(config)]


def test_config_without_sweep_records_no_sweep_and_old_records_still_load():
    from harness.config.recorded import config_from_dict

    config = parse_config(
        {"model": {"input": 3, "depth": 1, "width": 2, "output": 2}}, source="q.yaml", default_name="q"
    )
    assert "sweep" not in config.as_dict()
    # A run folder written before the fix recorded sweep: {} for such a config.
    assert config_from_dict({**config.as_dict(), "sweep": {}}) == config

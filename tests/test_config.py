from pathlib import Path

import pytest

from harness.config.cases import expand
from harness.config.schema import ConfigError, load_config, parse_config

CONFIGS = sorted(Path(__file__).resolve().parent.parent.joinpath("configs").glob("*.yaml"))

VALID = {
    "model": {"input": 8, "depth": 2, "width": 6, "output": 3},
    "run": {"repeats": {"construct": 2}},
}


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    config = load_config(path)
    assert config.name == path.stem
    assert expand(config)


def test_defaults_and_depth_width():
    config = parse_config(VALID, source="x.yaml")
    (case,) = expand(config)
    assert case.model.hidden == (6, 6)
    assert case.model.n_params == 6  # 3 layers x (W, b)
    assert case.mode == "FAST_RUN"
    assert config.run.repeats == {"construct": 2, "compile": "auto", "execute": "auto"}  # auto: until precise
    assert config.run.strategies == ("single", "per_param", "per_param_separate", "primal", "numpy_reference")
    assert config.run.caches == ("warm",) and config.run.min_time_s == 0.02
    assert config.run.timeouts == {"default": 900.0}


def test_sweep_is_cartesian_product_in_file_order():
    config = parse_config({**VALID, "sweep": {"depth": [1, 3], "width": [2, 4], "mode": ["FAST_RUN", "NO_OPT"]}})
    cases = expand(config)
    assert len(cases) == 8
    assert cases[0].name == "depth=1,width=2,mode=FAST_RUN"
    assert cases[-1].model.hidden == (4, 4, 4) and cases[-1].mode == "NO_OPT"


def test_sweep_over_hidden_replaces_depth_width():
    config = parse_config({**VALID, "sweep": {"hidden": [[3], [5, 2]]}})
    assert [c.model.hidden for c in expand(config)] == [(3,), (5, 2)]
    assert expand(config)[1].name == "hidden=5-2"


@pytest.mark.parametrize(
    "doc, path, words",
    [
        ({"model": {**VALID["model"], "activaton": "relu"}}, "model.activaton", "did you mean 'activation'"),
        ({"model": {**VALID["model"], "activation": "swish"}}, "model.activation", "allowed sigmoid, tanh, relu"),
        ({"model": {**VALID["model"], "loss": "hinge"}}, "model.loss", "softmax_cross_entropy, mse"),
        ({"model": {**VALID["model"], "width": 0}}, "model.width", "must be >= 1"),
        ({"model": {**VALID["model"], "batch": "64"}}, "model.batch", "must be an integer"),
        ({"model": {**VALID["model"], "biases": "yes"}}, "model.biases", "true or false"),
        ({"model": {**VALID["model"], "hidden": [4]}}, "model.hidden", "not both"),
        ({"model": {"input": 3, "output": 2, "depth": 2}}, "model.width", "go together"),
        ({"model": {**VALID["model"]}, "run": {"mode": "FAST"}}, "run.mode", "did you mean 'FAST_RUN'"),
        (
            {"model": {**VALID["model"]}, "run": {"strategies": ["per_param"]}},
            "run.strategies",
            "must include 'single'",
        ),
        ({"model": {**VALID["model"]}, "run": {"repeats": {"execute": 0}}}, "run.repeats.execute", ">= 1"),
        ({"model": {**VALID["model"]}, "sweep": {}}, "sweep", "is empty"),
        ({"model": {**VALID["model"]}, "sweep": {"depth": [2, 2]}}, "sweep.depth", "twice"),
        ({"model": {**VALID["model"]}, "sweep": {"depth": [1, -1]}}, "model.depth (in case depth=-1)", ">= 1"),
        (
            {"model": {**VALID["model"]}, "sweep": {"mode": ["FAST_RUN", "SLOW"]}},
            "sweep.mode (in case mode=SLOW)",
            "allowed",
        ),
        ({"model": {**VALID["model"]}, "sweep": {"mode": [[]]}}, "sweep.mode", "must be a list of mode names"),
        ({"modle": {}}, "modle", "did you mean 'model'"),
        ([1, 2], "(top level)", "must be a mapping"),
    ],
)
def test_invalid_configs_name_the_field(doc, path, words):
    with pytest.raises(ConfigError) as err:
        parse_config(doc, source="bad.yaml")
    assert err.value.path == path
    assert words in str(err.value)
    assert str(err.value).startswith("bad.yaml: ")


def test_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="c.yaml: file is empty"):
        load_config(write(tmp_path, ""))


def test_invalid_yaml_reports_line(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid YAML at line 4.*flow sequence that starts at line 3"):
        load_config(write(tmp_path, "model:\n  input: 3\n  hidden: [1, 2\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path / "nope.yaml")


def test_binary_file_and_directory(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"model: \xff\xfe\x00")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path)


def test_yaml_is_loaded_safely(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(write(tmp_path, "model: !!python/object/apply:os.system ['echo pwned']\n"))


@pytest.mark.parametrize(
    "run, path, problem",
    [
        ({"repeats": "many"}, "run.repeats", "must be an integer >= 1 or 'auto' (got 'many')"),
        ({"repeats": {"execute": "sometimes"}}, "run.repeats.execute", "or 'auto'"),
        ({"precision": 2}, "run.precision", "between 0 and 1"),
        ({"process_precision": 0}, "run.process_precision", "between 0 and 1"),
        ({"budget_s": -1}, "run.budget_s", "positive number"),
        ({"processes": 3, "max_processes": 2}, "run.max_processes", "at least run.processes (3)"),
    ],
)
def test_adaptive_sampling_settings_are_checked(run, path, problem):
    with pytest.raises(ConfigError) as exc:
        parse_config({**VALID, "run": run}, source="a.yaml")
    assert exc.value.path == path and problem in str(exc.value)


def test_auto_repeats_and_process_limits_round_trip():
    config = parse_config(
        {**VALID, "run": {"repeats": "auto", "precision": 0.03, "budget_s": 2, "processes": 2, "max_processes": 5}},
        source="a.yaml",
    )
    assert config.run.repeats == {"construct": "auto", "compile": "auto", "execute": "auto"}
    assert (config.run.precision, config.run.budget_s, config.run.process_limit) == (0.03, 2.0, 5)
    again = parse_config({k: v for k, v in config.as_dict().items() if k != "source"}, source="a.yaml")
    assert again == config

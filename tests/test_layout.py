"""House rules import-linter does not check: no import cycle, short modules, an old Python on the child side."""

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
CHILD_SIDE = ("core", "backends", "worker")
MAX_LINES = 300


def test_the_layer_contracts_hold():
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("harness", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert cycles == []


def test_no_two_modules_import_each_other_even_for_annotations():
    """An import under TYPE_CHECKING is a cycle all the same for a reader (config.cases named config.schema's
    Config while schema imported cases: issue 33, item 6)."""
    graph = grimp.build_graph("harness", exclude_type_checking_imports=False, cache_dir=None)  # no stale cache
    pairs = sorted(
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a < b and a in graph.find_modules_directly_imported_by(b)
    )
    assert pairs == []


def test_no_module_is_long():
    lengths = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in (REPO / "harness").rglob("*.py")}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def _oldest_python():
    for version in ("3.7", "3.8"):
        for path in sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python")):
            return path
    return None


def test_the_child_side_parses_and_imports_on_the_oldest_python():
    """Theano's releases of 2015-2020 need Python 3.7: the child side must run there (pyenv's, where present)."""
    python = _oldest_python()
    if python is None:
        pytest.skip("no Python 3.7 or 3.8 under ~/.pyenv/versions")
    files = [p for side in CHILD_SIDE for p in (REPO / "harness" / side).rglob("*.py")]
    # Parse every file with that Python (syntax such as `match` or parenthesised context managers fails there),
    # and import the modules that need nothing beyond its standard library.
    code = (
        "import sys\nfor f in sys.argv[1:]:\n    compile(open(f).read(), f, 'exec')\n"
        "import harness.core.registry, harness.core.affinity, harness.core.model, harness.worker.entry, "
        "harness.backends\nprint('ok')"
    )
    proc = subprocess.run([str(python), "-c", code, *map(str, files)], cwd=REPO, capture_output=True, text=True)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_the_child_side_uses_no_syntax_newer_than_its_oldest_python():
    """Without that Python, the same rule read from the syntax trees (3.7: no walrus, no positional-only)."""
    for side in CHILD_SIDE:
        for path in (REPO / "harness" / side).rglob("*.py"):
            tree = ast.parse(path.read_text())
            newer = [type(node).__name__ for node in ast.walk(tree) if isinstance(node, (ast.NamedExpr, ast.Match))]
            newer += [
                "positional-only" for node in ast.walk(tree) if isinstance(node, ast.arguments) and node.posonlyargs
            ]
            assert newer == [], path


def test_every_backend_has_the_interface_the_worker_calls():
    """Each framework's backend class defines every method of ``harness.backends.Backend`` (read from the
    source: importing JAX or PyTorch needs their environments)."""
    from harness.backends import Backend

    wanted = {name for name, value in vars(Backend).items() if callable(value) and not name.startswith("_")}
    assert wanted == {"construct", "compile", "executable", "to_numpy", "matmul", "graph", "info"}
    classes = {"symbolic.py": "SymbolicBackend", "jax.py": "JaxBackend", "torch.py": "TorchBackend"}
    for module, cls in classes.items():
        tree = ast.parse((REPO / "harness" / "backends" / module).read_text())
        (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
        defined = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        assert wanted <= defined, (module, wanted - defined)


def test_every_relative_link_in_the_docs_points_to_a_file_that_is_committed():
    """A figure names its run: the run folder it links to must be in the repository, not only on the machine
    that measured it (results/* is ignored except the runs named in .gitignore)."""
    import re

    pages = [REPO / "README.md", REPO / "results" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the same page
            path = (page.parent / target.split("#", 1)[0]).resolve()
            ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO).returncode == 0
            if not path.exists() or ignored:
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken

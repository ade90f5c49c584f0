"""The one rule between the layers: the engine and the optimizers never import streamlit."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

HEADLESS_PACKAGES = ("engine", "optimizers")


def _imports_streamlit(node: ast.AST) -> bool:
    """Whether ``node`` is an ``import streamlit[...]`` or ``from streamlit[...] import ...`` statement."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        modules = [node.module]
    else:
        return False
    return any(module == "streamlit" or module.startswith("streamlit.") for module in modules)


def test_importing_the_headless_packages_does_not_load_streamlit(repo_root: Path) -> None:
    code = f"import sys, {', '.join(HEADLESS_PACKAGES)}; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"importing {' and '.join(HEADLESS_PACKAGES)} loaded streamlit"


@pytest.mark.parametrize("package", HEADLESS_PACKAGES)
def test_no_headless_module_imports_streamlit(repo_root: Path, package: str) -> None:
    offenders = [
        f"{path.relative_to(repo_root)}:{node.lineno}"
        for path in sorted((repo_root / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if _imports_streamlit(node)
    ]
    assert not offenders, f"streamlit imported below the UI layer: {', '.join(offenders)}"


ENGINE_LAYERS = ("home", "tasks", "theory", "runs", "worker_main", "jobs", "sweeps", "figures", "lessons", "cli",
                 "__main__")
"""engine/'s parts from the bottom up: each may import only itself and the parts before it (design.md)."""
PROJECT_PACKAGES = ("engine", "optimizers", "ui", "pages", "benchmarks")


def _module_name(repo_root: Path, path: Path) -> str:
    parts = list(path.relative_to(repo_root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules(repo_root: Path) -> dict[str, Path]:
    """Every module of the project by dotted name, ``app`` included."""
    packages = (sorted((repo_root / package).rglob("*.py")) for package in PROJECT_PACKAGES)
    paths = [repo_root / "app.py", *(path for package in packages for path in package)]
    return {_module_name(repo_root, path): path for path in paths}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in it (a ``from package import name`` counts as the submodule
    ``package.name`` when there is one, else as the package itself)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found & known


def _engine_part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "(root)"


def test_no_engine_part_imports_one_above_it(repo_root: Path) -> None:
    modules = _project_modules(repo_root)
    engine = {name: path for name, path in modules.items() if name.startswith("engine.")}
    assert {_engine_part(name) for name in engine} == set(ENGINE_LAYERS), "a new part of engine/ needs its layer"
    offenders = []
    for name, path in engine.items():
        level = ENGINE_LAYERS.index(_engine_part(name))
        for imported in _imports(path, set(modules)):
            if imported == "engine" or not imported.startswith("engine."):
                assert not imported.startswith(("ui", "pages", "app")), f"{name} imports the UI module {imported}"
                continue
            if ENGINE_LAYERS.index(_engine_part(imported)) > level:
                offenders.append(f"{name} imports {imported}")
    assert not offenders, "imports must point down: " + "; ".join(offenders)


def test_optimizers_never_import_the_engine(repo_root: Path) -> None:
    modules = _project_modules(repo_root)
    offenders = [f"{name} imports {imported}" for name, path in modules.items() if name.startswith("optimizers")
                 for imported in _imports(path, set(modules)) if imported.split(".")[0] != "optimizers"]
    assert not offenders, "; ".join(offenders)


def test_the_project_has_no_import_cycle(repo_root: Path) -> None:
    modules = _project_modules(repo_root)
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for imported in sorted(graph[name]):
            if state.get(imported) == 1:
                cycles.append(" -> ".join([*path[path.index(imported):], imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_the_ui_imports_only_the_engine_parts_public_names(repo_root: Path) -> None:
    """Pages and ui/ take from the engine only what a part's ``__init__`` names in ``__all__``."""
    offenders = []
    for path in [repo_root / "app.py", *sorted(repo_root.glob("pages/*.py")), *sorted(repo_root.glob("ui/*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import) and any(alias.name.startswith("engine") for alias in node.names):
                offenders.append(f"{path.name}:{node.lineno} imports a module")
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine")):
                continue
            public = getattr(importlib.import_module(node.module), "__all__", ())
            private = [alias.name for alias in node.names if node.module.count(".") != 1 or alias.name not in public]
            if private:
                offenders.append(f"{path.name}:{node.lineno} {node.module}: {', '.join(private)}")
    assert not offenders, "not public: " + "; ".join(offenders)


def test_every_engine_part_says_its_job_and_names_its_public_surface(repo_root: Path) -> None:
    for init in sorted((repo_root / "engine").glob("*/__init__.py")):
        tree = ast.parse(init.read_text())
        summary = (ast.get_docstring(tree) or "").split("\n")[0]
        assert summary.endswith("."), f"{init.parent.name}: its docstring's first line says the part's job"
        names = {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets
                 if isinstance(target, ast.Name)}
        assert "__all__" in names, f"{init.parent.name}: __all__ names its public surface"

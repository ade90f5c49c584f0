"""The one rule between the layers: the engine and the optimizers never import streamlit."""

import ast
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

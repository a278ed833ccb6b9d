"""The package's layout follows the data flow: a stage imports only from stages before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "neurospice"

#: Stages in the order data flows through them. A module of a stage may import the shared
#: foundation (errors, files, meta) and the stages listed before its own, never one after it.
#: The scipy/numpy references sit after analysis (they classify their own spikes with it) and
#: before report and batch (which compare with them and run them). The Python API (api.py)
#: orchestrates every stage below it; the command line is a shell over the API.
STAGES = ["spice", "network", "sim", "analysis", "reference", "report", "batch", "api", "cli"]
FOUNDATION = {"errors", "files", "meta", "schema"}  # schema: the JSON Schema of the outputs
#: The package's __init__ only names the API's functions (loaded on first use).
FACADE = {"__init__"}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "neurospice" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
    return out


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_stage() -> None:
    for path in _modules():
        rel = path.relative_to(PKG)
        top = rel.parts[0].removesuffix(".py")
        assert top in STAGES or top in FOUNDATION or top in FACADE, rel


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_import_from_a_later_stage(path: Path) -> None:
    rel = path.relative_to(PKG)
    own = rel.parts[0].removesuffix(".py")
    if own in FACADE:
        return
    allowed = set(FOUNDATION) | {own}
    if own in STAGES:
        allowed |= set(STAGES[: STAGES.index(own)])
    for module, line in _imports(path):
        stage = _stage(module)
        if stage is None:
            if module == "neurospice":
                raise AssertionError(f"{rel}:{line} imports the facade 'neurospice'")
            continue
        assert stage in allowed, f"{rel}:{line} imports {module} (stage {stage!r} comes after "
        f"{own!r})"


def test_foundation_imports_no_stage() -> None:
    for name in FOUNDATION:
        paths = [PKG / f"{name}.py"] if (PKG / f"{name}.py").exists() else \
            sorted((PKG / name).rglob("*.py"))
        assert paths, name
        for path in paths:
            for module, line in _imports(path):
                stage = _stage(module)
                assert stage is None or stage in FOUNDATION, f"{path.name}:{line} imports {module}"


LAZY_PACKAGES = ["neurospice", "neurospice.network", "neurospice.spice", "neurospice.sim.model"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    """The facades load their names on first use (one helper, ``lazy_loader.attach``): each name
    in ``__all__`` resolves to an object of the module that defines it, and a wrong name is an
    AttributeError naming it."""
    import importlib

    mod = importlib.import_module(package)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__code__"):
            assert obj.__module__.startswith(package), (package, name, obj.__module__)
    with pytest.raises(AttributeError, match="no_such_name"):
        mod.no_such_name  # noqa: B018


def test_no_hand_written_module_getattr() -> None:
    """Lazy loading is the one helper's: no package defines its own ``__getattr__`` loader."""
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        own = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
               and n.name == "__getattr__"]
        assert not own, path

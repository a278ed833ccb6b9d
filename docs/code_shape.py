"""The shape of the code, measured: how a run travels through the package.

Prints the figures the pipeline is held to and draws the import graph of the package's stages
(``docs/figures/import_graph.png``): one box per module, grouped in columns by stage in the
order data flows (spice -> network -> sim -> analysis -> reference -> report -> batch -> cli,
the facade on the right), an arrow for each import between stages.

Figures:

* engine string comparisons: ``engine == "model"``-style tests of a name outside the engine
  registry (``neurospice/sim/engines.py``);
* the longest orchestration function (lines, parameters) in ``api.py``, ``cli/`` and ``batch/``;
* ``x=x`` keyword pass-throughs (a call passing a name on under the same name), in all and of
  the run options alone (timeout, t_skip, seed, workers ...);
* modules importing ``argparse`` outside ``cli/``.

Usage: ``python docs/code_shape.py [--no-plot]``.
"""

from __future__ import annotations

import argparse
import ast
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "neurospice"
STAGES = ["spice", "network", "sim", "analysis", "reference", "report", "batch", "api", "cli"]
ENGINE_NAMES = {"spice", "model", "full", "map", "ngspice"}
REGISTRY = PKG / "sim" / "engines.py"


def modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def engine_comparisons(path: Path, tree: ast.AST) -> list[int]:
    """Lines comparing something named ``engine``/``kind``/``mode`` with an engine's name."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        names = [node.left, *node.comparators]
        consts = {n.value for n in names
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        for n in names:
            if isinstance(n, (ast.Tuple, ast.List, ast.Set)):
                consts |= {e.value for e in n.elts if isinstance(e, ast.Constant)
                           and isinstance(e.value, str)}
        text = ast.unparse(node)
        if consts & ENGINE_NAMES and "engine" in text.lower():
            out.append(node.lineno)
    return out


def functions(tree: ast.AST) -> list[tuple[str, int, int]]:
    """(name, lines, parameters) of every function."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
            n -= 1 if a.args and a.args[0].arg in ("self", "cls") else 0
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            out.append((node.name, lines, n))
    return out


RUN_OPTIONS = {"timeout", "t_skip", "seed", "seeds", "workers", "scheduler", "quiet", "plot",
               "tstop", "engine", "limits", "memory", "control", "raw", "fmt", "resume",
               "verify", "energy", "spike_threshold", "waveform_tol", "tol_dist", "tols",
               "outdir", "progress"}


def pass_throughs(tree: ast.AST, names: set[str] | None = None) -> int:
    """Keyword arguments ``x=x`` (a name passed on under its own name), of ``names`` only when
    given."""
    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.keyword)
               and isinstance(node.value, ast.Name) and node.arg == node.value.id
               and (names is None or node.arg in names))


def imports(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def measure() -> dict[str, object]:
    comparisons: list[str] = []
    orchestration: list[tuple[str, int, int]] = []
    x_eq_x = Counter[str]()
    options = 0
    argparse_outside: list[str] = []
    for path in modules():
        tree = ast.parse(path.read_text())
        rel = str(path.relative_to(ROOT))
        if path != REGISTRY:
            comparisons += [f"{rel}:{line}" for line in engine_comparisons(path, tree)]
        if rel.startswith(("neurospice/api.py", "neurospice/cli/", "neurospice/batch/")):
            orchestration += [(f"{rel}:{name}", lines, n) for name, lines, n in functions(tree)]
        x_eq_x[rel] = pass_throughs(tree)
        options += pass_throughs(tree, RUN_OPTIONS)
        if "argparse" in imports(tree) and not rel.startswith("neurospice/cli/"):
            argparse_outside.append(rel)
    longest = max(orchestration, key=lambda f: f[1])
    widest = max(orchestration, key=lambda f: f[2])
    return {
        "engine_string_comparisons": len(comparisons),
        "engine_string_comparison_sites": comparisons,
        "longest_orchestration_function": {"name": longest[0], "lines": longest[1],
                                           "parameters": longest[2]},
        "most_parameters": {"name": widest[0], "lines": widest[1], "parameters": widest[2]},
        "x_eq_x_pass_throughs": sum(x_eq_x.values()),
        "x_eq_x_run_options": options,
        "x_eq_x_by_file": {k: v for k, v in x_eq_x.most_common(8) if v},
        "argparse_outside_cli": argparse_outside,
    }


def stage_of(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]  # neurospice.api is a stage of its own: the orchestrator
    if parts[-1] in ("errors", "files", "meta", "schema"):
        return "foundation"
    return "facade"


def stage_imports() -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """(imports between stages: (importer, imported) -> count of module pairs, modules per
    stage)."""
    names = {_name(p): p for p in modules()}
    count = Counter(stage_of(n) for n in names)
    edges: Counter[tuple[str, str]] = Counter()
    for name, p in names.items():
        seen = set()
        for mod in imports(ast.parse(p.read_text())):
            while mod and mod not in names:
                mod = mod.rpartition(".")[0]
            if mod and mod != name and mod not in seen:
                seen.add(mod)
                a, b = stage_of(name), stage_of(mod)
                if a != b:
                    edges[(a, b)] += 1
    return edges, count


def plot(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    order = ["foundation", *STAGES, "facade"]  # facade: the package's __init__
    edges, count = stage_imports()
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = {s: k for k, s in enumerate(order)}
    for s in order:
        ax.text(x[s], 0, f"{s}\n{count.get(s, 0)} modules", ha="center", va="center",
                fontsize=9, bbox={"boxstyle": "round,pad=0.4", "fc": "#eef3fb" if s in STAGES
                                  else "#f3f3f3", "ec": "0.4"})
    for (a, b), n in sorted(edges.items()):
        back = x[b] > x[a]
        rad = 0.45 if not back else -0.45
        arrow = FancyArrowPatch((x[a], 0.18 if not back else -0.18),
                                (x[b], 0.18 if not back else -0.18),
                                connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                mutation_scale=8, lw=0.4 + 0.35 * n ** 0.5,
                                color="tab:red" if back else "0.35", alpha=0.8)
        ax.add_patch(arrow)
        mid = 0.5 * (x[a] + x[b])
        h = 0.18 + 0.22 * abs(x[a] - x[b]) * (1 if not back else -1)
        ax.text(mid, h, str(n), fontsize=7, ha="center", color="tab:red" if back else "0.2")
    ax.set_xlim(-0.7, len(order) - 0.3)
    ax.set_ylim(-0.5, 2.75)
    ax.set_axis_off()
    ax.set_title("neurospice: imports between stages (numbers: module pairs); data flows left "
                 "to right, imports point back (grey); red: an import against the flow")
    fig.savefig(path, dpi=130)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()
    print(json.dumps(measure(), indent=1))
    if not args.no_plot:
        print(f"wrote {plot(ROOT / 'docs' / 'figures' / 'import_graph.png')}")


if __name__ == "__main__":
    main()

"""The packages' import graph, read statically from the source (docs/architecture.md, "Layers").

Every module of ``services/`` and ``workflows/`` is parsed (never imported), each
``import``/``from ... import`` (at any depth: inside functions, ``if TYPE_CHECKING`` blocks
and ``workflow.unsafe.imports_passed_through()`` alike) is resolved to one of the five
packages below, and the test fails

* on any cycle among the packages (e.g. evaluation → workflows → evaluation), naming the
  import lines that close it;
* on ``services.common`` importing ``workflows`` or any service: it is the layer every
  process shares, so it must be importable on its own.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "services.common",
    "services.intake",
    "services.talent",
    "services.evaluation",
    "workflows",
)
# services.common may import only itself (and third-party code).
COMMON_MAY_NOT_IMPORT = tuple(p for p in PACKAGES if p != "services.common")

Edges = dict[str, dict[str, list[str]]]


def package_of(module: str) -> str | None:
    for package in PACKAGES:
        if module == package or module.startswith(package + "."):
            return package
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    module = module_name(path, root)
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                # `from . import x`: x may be a submodule; the package is what counts here.
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def package_edges(root: Path = ROOT) -> Edges:
    """package → imported package → ["path:line module", ...], self-imports left out."""
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for top in ("services", "workflows"):
        for path in sorted((root / top).rglob("*.py")):
            source = package_of(module_name(path, root))
            if source is None:
                continue
            for line, target in imported_modules(path, root):
                dest = package_of(target)
                if dest is not None and dest != source:
                    edges[source][dest].append(f"{path.relative_to(root)}:{line} {target}")
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted:
    every import cycle lies inside one of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    nodes = set(graph) | {n for succs in graph.values() for n in succs}
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) == []


def test_relative_imports_are_resolved_to_their_package(tmp_path: Path) -> None:
    (tmp_path / "services" / "evaluation").mkdir(parents=True)
    (tmp_path / "workflows").mkdir()
    (tmp_path / "services" / "evaluation" / "rules.py").write_text("x = 1\n")
    (tmp_path / "workflows" / "activities.py").write_text(
        "def f():\n    from services.evaluation.rules import x\n"
    )
    (tmp_path / "services" / "evaluation" / "service.py").write_text(
        "from workflows.activities import f\nfrom .rules import x\n"
    )
    edges = package_edges(tmp_path)
    graph = {source: set(dests) for source, dests in edges.items()}
    assert graph == {"workflows": {"services.evaluation"}, "services.evaluation": {"workflows"}}
    assert cycles(graph) == [["services.evaluation", "workflows"]]


def test_no_import_cycle_between_the_packages() -> None:
    edges = package_edges()
    graph = {source: set(dests) for source, dests in edges.items()}
    problems = []
    for component in cycles(graph):
        lines = [
            f"  {source} → {dest}: {edges[source][dest][0]}"
            for source in component
            for dest in component
            if dest in edges.get(source, {})
        ]
        problems.append(" ↔ ".join(component) + "\n" + "\n".join(lines))
    assert not problems, "package cycles:\n" + "\n".join(problems)


def test_services_common_imports_no_service_and_no_workflow() -> None:
    edges = package_edges()
    offending = {
        dest: imports
        for dest, imports in edges.get("services.common", {}).items()
        if dest in COMMON_MAY_NOT_IMPORT
    }
    assert not offending, f"services.common must stand alone: {offending}"


def test_the_graph_is_not_empty() -> None:
    # A guard on the test itself: a wrong root or module mapping would pass vacuously.
    graph = package_edges()
    assert "services.common" in graph["workflows"]
    assert "workflows" in graph["services.intake"]

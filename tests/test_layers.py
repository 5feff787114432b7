"""The layering, read from the source with ast: no import cycle between packages, the engine knows no CLI and no
HTTP, and no private name is imported from another package."""
from __future__ import annotations

import ast
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("core", "schemas", "db", "connectors", "streams", "dashboards", "simulator", "web", "shenpi", "bench")
# who may import whom, top-level packages only: the engine sits below the CLI and the HTTP layer
FORBIDDEN = {"streams": ("shenpi", "web", "bench"), "core": ("streams", "web", "shenpi", "connectors"),
             "schemas": ("streams", "web", "shenpi", "connectors"), "web": ("shenpi", "bench")}


def _package(path: Path) -> str:
    """The package a file belongs to, dotted: the directory holding it."""
    return ".".join(path.parent.relative_to(ROOT).parts)


def _target(name: str) -> str:
    """The deepest package a dotted import names (a module's own package, a package itself)."""
    parts = name.split(".")
    while parts and not (ROOT.joinpath(*parts) / "__init__.py").exists():
        parts.pop()
    return ".".join(parts)


def imports(tree: ast.AST, package: str):
    """(dotted name, names taken, line) for every import in a module, relative ones resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            yield base, tuple(a.name for a in node.names), node.lineno


@lru_cache(maxsize=1)
def import_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str], list[str], list[str]]:
    """Package → packages it imports (a package's own ancestors and descendants left out: that is containment, not
    a dependency), where each edge first shows, the imports of private names from another package, and what the
    CLI takes from the HTTP layer other than the application it serves."""
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    private: list[str] = []
    cli_to_web: list[str] = []
    for top in TOPS:
        for f in sorted((ROOT / top).rglob("*.py")):
            if "node_modules" in f.parts:
                continue
            src = _package(f)
            for name, taken, line in imports(ast.parse(f.read_text(encoding="utf-8")), src):
                if name.split(".")[0] not in TOPS:
                    continue
                for full in (name, *(f"{name}.{t}" for t in taken)):
                    dst = _target(full)
                    if not dst or dst == src or dst.startswith(src + ".") or src.startswith(dst + "."):
                        continue
                    edges[src].add(dst)
                    where.setdefault((src, dst), f"{f.relative_to(ROOT)}:{line}")
                for t in taken:
                    if t.startswith("_") and not t.startswith("__") and _target(name) != src:
                        private.append(f"{f.relative_to(ROOT)}:{line} imports {name}.{t}")
                if src.startswith("shenpi") and name.startswith("web") and name != "web.app":
                    cli_to_web.append(f"{f.relative_to(ROOT)}:{line} imports {name}")
    return edges, where, private, cli_to_web


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(set(edges) | {d for ds in edges.values() for d in ds}):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_between_packages():
    edges, where, _, _ = import_graph()
    assert "streams.cases" in edges and "web.views" in edges  # the graph was read at all
    found = cycles(edges)
    detail = [[f"{s} -> {d} ({where[s, d]})" for s in c for d in sorted(edges[s]) if d in c] for c in found]
    assert not found, detail


def test_dependencies_point_down():
    edges, where, _, _ = import_graph()
    wrong = [f"{s} -> {d} ({where[s, d]})" for s, ds in edges.items() for d in ds
             if d.split(".")[0] in FORBIDDEN.get(s.split(".")[0], ())]
    assert not wrong


def test_no_private_name_imported_across_packages():
    _, _, private, _ = import_graph()
    assert not private


def test_the_cli_uses_the_engine_not_the_http_layer():
    """shenpi/ may start the API (web.app); logic that is not HTTP comes from the engine."""
    *_, cli_to_web = import_graph()
    assert not cli_to_web


def test_jieba_is_set_up_in_one_place():
    """Every package segments through core.segment (one set-up, one dictionary load per process)."""
    importers = sorted(str(f.relative_to(ROOT)) for top in TOPS for f in (ROOT / top).rglob("*.py")
                       if "node_modules" not in f.parts and any(
                           name.split(".")[0] == "jieba" for name, _, _ in imports(ast.parse(f.read_text("utf-8")), "")))
    assert importers == ["core/segment.py"]


def test_the_engine_raises_no_http_errors():
    """Domain code raises core.errors kinds; only the web layer knows HTTP (aiohttp's client is fine)."""
    found = [str(f.relative_to(ROOT)) for top in ("core", "schemas", "db", "streams") for f in (ROOT / top).rglob("*.py")
             if any(name == "aiohttp.web" or (name == "aiohttp" and "web" in taken)
                    for name, taken, _ in imports(ast.parse(f.read_text("utf-8")), ""))]
    assert not found

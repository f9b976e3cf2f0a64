"""No two modules of a layer import each other, directly or in a circle.

A cycle makes the import order decide what works (a name read before its module finished
running is an ImportError at best), and it says two modules are one concern cut in two.
The graph is read from the source with `ast`: the imports a module runs when it is loaded,
so those under `if TYPE_CHECKING:` (never run) and those inside functions (run later) do not
count. A subpackage joins the check by being named in `LAYERS`; in those named in
`TYPED_LAYERS` not even the type hints' imports circle (a circle of hints is still two
modules that cannot be read apart).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = "maestro_control_room"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
#: The subpackages kept free of cycles, each with everything below it.
LAYERS = ("cutover", "sources")
TYPED_LAYERS = ("cutover", "sources")


def modules_of(root: Path, package: str, layers: Iterable[str]) -> dict[str, Path]:
    """Every module of the layers, by dotted name: `package.cutover.room` -> its file."""
    found: dict[str, Path] = {}
    for layer in layers:
        folder = root / layer
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _run_at_load(
    body: Iterable[ast.stmt], hints: bool = False
) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements a module runs while it loads: at its top level and in the
    blocks there (try, with, if), but not in functions or classes, nor under TYPE_CHECKING
    unless `hints`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if hints or not _is_type_checking(node.test):
                yield from _run_at_load(node.body, hints)
            yield from _run_at_load(node.orelse, hints)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _run_at_load(block, hints)
            for handler in node.handlers:
                yield from _run_at_load(handler.body, hints)
        elif isinstance(node, ast.With):
            yield from _run_at_load(node.body, hints)


def imports_of(name: str, path: Path, known: Mapping[str, Path], hints: bool = False) -> set[str]:
    """The modules among `known` that module `name` imports as it loads (and for its type
    hints too, if `hints`)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    targets: set[str] = set()
    for node in _run_at_load(ast.parse(path.read_text(encoding="utf-8")).body, hints):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = here[: len(here) - (node.level - 1)]
            origin = ".".join([*base, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        for alias in node.names:
            # `from .sim import scenario` imports a module; `from .room import RoomView` a
            # name out of one.
            submodule = f"{origin}.{alias.name}"
            targets.add(submodule if submodule in known else origin)
    return {target for target in targets if target in known and target != name}


def import_graph(known: Mapping[str, Path], hints: bool = False) -> dict[str, set[str]]:
    return {name: imports_of(name, path, known, hints) for name, path in known.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another in a circle (Tarjan's strongly
    connected components of more than one module), each sorted, in order."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def circle(group: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """One circle through a group, as a path from its first module back to it, to name."""
    start = group[0]
    members = set(group)
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        for target in sorted(graph[path[-1]] & members):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                paths.append([*path, target])
    return group


def short(name: str) -> str:
    return name.removeprefix(f"{PACKAGE}.")


@pytest.mark.parametrize("layer", LAYERS)
def test_no_modules_of_a_layer_import_each_other_in_a_circle(layer: str) -> None:
    known = modules_of(ROOT, PACKAGE, [layer])
    assert len(known) > 5, f"found only {sorted(known)} under {ROOT / layer}"
    graph = import_graph(known)
    found = [" → ".join(short(m) for m in circle(group, graph)) for group in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_no_circle_runs_across_the_layers() -> None:
    graph = import_graph(modules_of(ROOT, PACKAGE, LAYERS))
    found = [" → ".join(short(m) for m in circle(group, graph)) for group in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


@pytest.mark.parametrize("layer", TYPED_LAYERS)
def test_not_even_the_type_hints_of_a_layer_import_in_a_circle(layer: str) -> None:
    graph = import_graph(modules_of(ROOT, PACKAGE, [layer]), hints=True)
    found = [" → ".join(short(m) for m in circle(group, graph)) for group in cycles(graph)]
    assert not found, "import cycles, counting type hints:\n" + "\n".join(found)


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_circle_is_found_however_its_imports_are_written(tmp_path: Path) -> None:
    write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "layer/__init__.py": "",
            "layer/actions.py": "from .room import RoomView\n",
            "layer/room.py": "from . import permissions\n",
            "layer/permissions.py": (
                "try:\n    import pkg.layer.actions\nexcept ImportError:\n    pass\n"
            ),
            "layer/leaf.py": "from .deep.leaf import X\n",
            "layer/deep/__init__.py": "",
            "layer/deep/leaf.py": "from ..leaf import Y\n",
        },
    )
    graph = import_graph(modules_of(tmp_path / "pkg", "pkg", ["layer"]))
    assert cycles(graph) == [
        ["pkg.layer.actions", "pkg.layer.permissions", "pkg.layer.room"],
        ["pkg.layer.deep.leaf", "pkg.layer.leaf"],
    ]
    assert circle(cycles(graph)[0], graph) == [
        "pkg.layer.actions",
        "pkg.layer.room",
        "pkg.layer.permissions",
        "pkg.layer.actions",
    ]


def test_imports_under_type_checking_or_in_a_function_are_no_circle(tmp_path: Path) -> None:
    write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "layer/__init__.py": "",
            "layer/actions.py": "from .room import RoomView\n",
            "layer/room.py": (
                "import typing\n"
                "if typing.TYPE_CHECKING:\n    from .actions import ActionKind\n"
                "def later():\n    from .actions import plan\n"
            ),
        },
    )
    known = modules_of(tmp_path / "pkg", "pkg", ["layer"])
    graph = import_graph(known)
    assert graph["pkg.layer.actions"] == {"pkg.layer.room"}
    assert cycles(graph) == []
    assert cycles(import_graph(known, hints=True)) == [["pkg.layer.actions", "pkg.layer.room"]]


def test_the_config_schema_knows_neither_the_plans_defaults_nor_the_domain_specs() -> None:
    """`cutover.config` in three layers: the schema validates a document and nothing more;
    the plan's defaults are made from the schema's sections; the specs from both."""
    known = modules_of(ROOT, PACKAGE, ["cutover"])
    graph = import_graph(known, hints=True)
    config = f"{PACKAGE}.cutover.config"
    assert {f"{config}.schema", f"{config}.defaults", f"{config}.specs"} <= set(known)
    assert not {m for m in graph[f"{config}.schema"] if m.startswith(f"{config}.")}
    assert f"{PACKAGE}.cutover.room" not in graph[f"{config}.schema"]
    assert graph[f"{config}.defaults"] & set(known) == {
        f"{config}.schema",
        f"{PACKAGE}.cutover.signers",
    }
    assert {f"{config}.schema", f"{config}.defaults"} <= graph[f"{config}.specs"]

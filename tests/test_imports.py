"""The package's layers, read from its source (ast): imports run one way, at module level, without cycles.

cli -> serve -> inference; cli -> {training, quality} -> inference -> run -> {weights, data, config, shipped} -> {nn, media, preprocess}
-> errors; training and inference never import each other, not even through quality (only adain.quality.methods,
which scores checkpoints, uses inference); nn imports neither config nor run. Imports inside functions (the command
line's deferred TensorFlow) are checked like the others.
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

PACKAGE = REPO / "adain"
BASE = {"errors"}
LOW = BASE | {"nn", "media", "preprocess"}
MIDDLE = LOW | {"config", "weights", "data", "shipped"}
RUN = MIDDLE | {"run"}
# What each layer may import (besides itself).
ALLOWED = {
    "errors": set(),
    "nn": BASE,
    "media": BASE,
    "preprocess": BASE | {"media"},  # prepare_image: decode (media) -> resize -> crop
    "config": LOW,
    "shipped": BASE,  # where the shipped model lives: no TensorFlow, resolved by the command line first
    "weights": LOW | {"config"},
    "data": LOW | {"config"},
    "run": MIDDLE,
    "quality": RUN | {"inference"},  # adain.quality.methods: checkpoints as evaluation methods
    "inference": RUN,
    "training": RUN | {"quality"},  # the held-out evaluation callback
    "serve": RUN | {"inference"},  # the web app: only the command line starts it
    "cli": RUN | {"quality", "inference", "training", "serve"},
    "api": RUN | {"quality", "inference", "training", "cli"},  # adain/__init__.py and __main__.py
}
# Imports inside functions are allowed only where they are the point: the command line defers TensorFlow,
# the public API is lazy. Anything else is listed here with its reason.
LAZY_ALLOWED = {
    ("adain/data/tfds.py", "adain.data.wikiart"),  # the wikiart builder needs tensorflow_datasets, imported lazily
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts == ["adain"] or parts[1:] == ["__main__"]:
        return "api"
    return parts[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_sources() -> dict[str, str]:
    return {str(path.relative_to(REPO)): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def adain_imports(tree: ast.AST, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import of an adain module."""
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # imports inside `if`/`try` at module level still count as module level
        if isinstance(node, (ast.If, ast.Try)):
            top_level |= {id(child) for child in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from adain.nn import losses` imports the module adain.nn.losses
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names
            ]
        for name in names:
            if name == "adain" or name.startswith("adain."):
                found.append((name, node.lineno, id(node) in top_level))
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """module -> the adain modules it imports at module level."""
    modules = {path: module_name(REPO / path) for path in sources}
    known = set(modules.values())
    return {
        modules[path]: {t for t, _, top in adain_imports(ast.parse(text, path), known) if top and t in known}
        for path, text in sources.items()
    }


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for child in graph.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def violations(sources: dict[str, str]) -> list[str]:
    """Every broken rule in these sources ({path relative to the repo: text}); [] when the layering holds."""
    modules = {path: module_name(REPO / path) for path in sources}
    known = set(modules.values())
    problems, graph = [], {}
    for path, text in sources.items():
        source = modules[path]
        layer = layer_of(source)
        edges = graph.setdefault(source, set())
        for target, line, module_level in adain_imports(ast.parse(text, path), known):
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                problems.append(f"{path}:{line}: {layer} must not import {target_layer} ({target})")
            if not module_level and layer not in ("cli", "api") and (path, target) not in LAZY_ALLOWED:
                problems.append(f"{path}:{line}: import of {target} inside a function (move it to the top)")
            if module_level and target in known:
                edges.add(target)
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    for source in sorted(graph):
        if layer_of(source) in ("training", "inference"):
            other = "inference" if layer_of(source) == "training" else "training"
            problems += [
                f"{source} reaches {t} (through quality)"
                for t in sorted(reachable(graph, source))
                if layer_of(t) == other
            ]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                found.append(stack[stack.index(child) :] + [child])
            elif child not in state:
                visit(child, [*stack, child])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_package_keeps_its_layers():
    assert violations(package_sources()) == []


def test_every_module_is_in_a_known_layer():
    layers = {layer_of(module_name(REPO / path)) for path in package_sources()}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


def test_an_import_from_a_higher_layer_is_caught():
    sources = package_sources()
    sources["adain/nn/ops.py"] += "\nfrom adain.cli import main\n"
    sources["adain/nn/layers.py"] += "\nfrom adain.config import Config\n"
    sources["adain/inference/color.py"] += "\nfrom adain.training.loop import train\n"
    problems = violations(sources)
    assert any("adain/nn/ops.py" in p and "nn must not import cli" in p for p in problems), problems
    assert any("nn must not import config" in p for p in problems), problems
    assert any("inference must not import training" in p for p in problems), problems


def test_training_reaching_inference_through_quality_is_caught():
    sources = package_sources()
    sources["adain/quality/metrics.py"] += "\nfrom adain.quality.methods import checkpoint_methods\n"
    problems = violations(sources)
    assert any("adain.training.loop reaches adain.inference" in p for p in problems), problems


def test_a_function_level_import_in_the_command_line_is_checked():
    sources = package_sources()
    sources["adain/cli/train.py"] += "\ndef later():\n    from adain.__main__ import main\n"
    problems = violations(sources)
    assert any("adain/cli/train.py" in p and "cli must not import api" in p for p in problems), problems


def test_a_cycle_and_a_hidden_import_are_caught():
    sources = package_sources()
    sources["adain/media/files.py"] += "\nfrom adain.media.images import save_image\n"  # images imports files
    sources["adain/run/__init__.py"] += "\ndef late():\n    from adain.data.pipeline import training_dataset\n"
    problems = violations(sources)
    assert any(p.startswith("import cycle:") and "adain.media.files" in p for p in problems), problems
    assert any("adain/run/__init__.py" in p and "inside a function" in p for p in problems), problems


def command_line_code(sources: dict[str, str]) -> list[str]:
    """argparse, sys.exit / SystemExit and `__main__` blocks outside adain/cli/ (the one place for command lines)."""
    problems = []
    for path, text in sources.items():
        if path.startswith("adain/cli/") or path == "adain/__main__.py":
            continue
        for node in ast.walk(ast.parse(text, path)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if "argparse" in names:
                    problems.append(f"{path}:{node.lineno}: argparse")
            elif isinstance(node, ast.Attribute) and node.attr == "exit" and getattr(node.value, "id", "") == "sys":
                problems.append(f"{path}:{node.lineno}: sys.exit")
            elif isinstance(node, ast.Name) and node.id == "SystemExit":
                problems.append(f"{path}:{node.lineno}: SystemExit")
            elif isinstance(node, ast.Constant) and node.value == "__main__":
                problems.append(f"{path}:{node.lineno}: a __main__ block")
    return problems


def test_command_lines_live_only_in_cli():
    assert command_line_code(package_sources()) == []
    sources = package_sources()
    sources["adain/nn/ops.py"] += "\nimport sys\nif __name__ == '__main__':\n    sys.exit(1)\n"
    assert len(command_line_code(sources)) == 2

"""The packages' import graph has no cycle, and each layer imports only what it may."""
import ast

from tests.import_graph import PACKAGES, find_cycle, graph, modules


def test_the_import_graph_has_no_cycle():
    g = graph()
    assert "train.card" in g and "warden_tools.paths" in g
    assert find_cycle(g) is None, f"import cycle: {' -> '.join(find_cycle(g))}"


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_reference_package_imports_nothing_of_the_other_packages():
    for name, deps in graph().items():
        if name.startswith("warden_tools"):
            assert all(d.startswith("warden_tools") for d in deps), (name, deps)


def test_the_card_imports_nothing_that_trains():
    allowed = {"train.spec", "train.results", "warden_tools.paths"}
    assert graph()["train.card"] <= allowed
    assert graph()["train.results"] == set()
    assert graph()["train.spec"] == set()


def test_only_the_entry_point_imports_the_pipeline():
    importers = {name for name, deps in graph().items() if "train.pipeline" in deps}
    assert importers == {"train.__main__"}


def test_no_module_touches_sys_path():
    for name, path in modules().items():
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys":
                raise AssertionError(f"{name} uses sys.path (line {node.lineno})")


def test_every_package_is_a_package():
    found = modules()
    for package in PACKAGES:
        assert package in found, f"{package}/__init__.py missing"

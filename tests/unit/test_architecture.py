"""The layout's import rules (ARCHITECTURE.md), checked on the source: a
service's image needs no other service's code, the gateway and the developer
tools are clients of the published language (``contracts``), and contracts
stand alone. An AST walk, so an import inside a function counts too."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir()
                  if (p / "__init__.py").exists())
# The legitimate exceptions: the local network creates the first network
# admin with identity's own bootstrap (devtools/network.py), as identity's
# container does in production; the days the tests and the soak book are
# chosen with booking's own public holidays (devtools/dates.py: a pure module of
# the standard library), so that booking never refuses them as closed.
ALLOWED = {("devtools/network.py", "services.identity.bootstrap"),
           ("devtools/dates.py", "services.booking.public_holidays")}


def imported_modules(path):
    """Every module ``path`` imports, dotted (``from a import b`` gives ``a.b``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def sources(folder):
    return sorted((ROOT / folder).rglob("*.py"))


def violations(folder, forbidden):
    found = []
    for path in sources(folder):
        relative = path.relative_to(ROOT).as_posix()
        for module in imported_modules(path):
            if forbidden(relative, module) and not any(
                    relative == allowed_path and module.startswith(allowed)
                    for allowed_path, allowed in ALLOWED):
                found.append(f"{relative} imports {module}")
    return found


def within(module, package):
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_service(service):
    others = [f"services.{other}" for other in SERVICES if other != service]
    assert violations(f"services/{service}", lambda path, module: any(
        within(module, other) for other in others)) == []


@pytest.mark.parametrize("folder", ["gateway", "devtools", "common", "contracts"])
def test_the_gateway_devtools_common_and_contracts_import_no_service(folder):
    assert violations(folder, lambda path, module: within(module, "services")) == []


def test_the_web_pages_reach_the_platform_only_over_http():
    """web/ is a client of the public API like any partner: no service, no
    contract, no gateway code; only common's logging set-up and the production
    check every component runs (standard library only)."""
    assert violations("web", lambda path, module: (
        within(module, "services") or within(module, "contracts") or within(module, "gateway")
        or within(module, "nameko") or (within(module, "common")
                                        and not within(module, "common.logging")
                                        and not within(module, "common.production"))
    )) == []


def test_contracts_import_neither_nameko_nor_the_service_plumbing():
    """Anyone can read the published language: marshmallow, the standard
    library and common's pure schema helpers, nothing that runs a service."""
    allowed_common = {"common.schemas"}
    assert violations("contracts", lambda path, module: (
        within(module, "nameko") or within(module, "eventlet") or within(module, "sqlalchemy")
        or within(module, "gateway") or within(module, "devtools")
        or (within(module, "common") and not any(within(module, ok) for ok in allowed_common))
    )) == []


def test_the_walk_sees_imports():
    """The rules above would pass vacuously if the walk found nothing."""
    found = set(imported_modules(ROOT / "gateway" / "routes.py"))
    assert "contracts.rpc.booking.BookingSchema" in found
    assert violations("devtools", lambda path, module: within(module, "services")) == []
    assert any(module.startswith("services.identity.bootstrap")
               for module in imported_modules(ROOT / "devtools" / "network.py"))


def module_graph(package):
    """``{module: modules of the same project it imports}`` for the .py files under ``package``."""
    def module_of(path):
        parts = path.relative_to(ROOT).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {module_of(path) for path in sources(package)}
    graph = {}
    for path in sources(package):
        targets = set()
        for name in imported_modules(path):
            while name and name not in modules:  # from a.b import c: a.b.c, else a.b
                name = name.rpartition(".")[0]
            if name and name != module_of(path) and name.count(".") > 1:
                targets.add(name)
        graph[module_of(path)] = targets
    return graph


def cycles(graph):
    found, done = [], set()

    def visit(module, trail):
        if module in trail:
            found.append(trail[trail.index(module):] + [module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, trail + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_import_circle_inside_a_service(service):
    """A circle (accounts <-> invitations once) hides behind imports inside functions."""
    assert cycles(module_graph(f"services/{service}")) == []

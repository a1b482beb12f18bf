"""Dependencies point one way: HTTP handlers on top; `oauth/` and `ib/` below them, importing
only the store, settings and each other where the domain needs it (`ib/` never imports
`oauth/`); the store imports nothing above it. Read from the source, so a new import that
breaks the layering fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ib_oauth_bridge

PACKAGE = Path(ib_oauth_bridge.__file__).parent
# Top-level modules any domain layer may use; they import nothing of the package themselves.
DOMAIN_BASICS = {"settings", "errors", "clock", "outbound", "strings"}
ALLOWED = {
    "store": {"store"},
    "ib": {"ib", "store", *DOMAIN_BASICS},
    "oauth": {"oauth", "ib", "store", "audit", *DOMAIN_BASICS},
    # The audit log and fraud rules: fed by `oauth/` and the handlers, free of HTTP.
    "audit": {"audit", "settings", "clock"},
    "web": {"web", "strings"},
    "devib": {"devib"},
}


def internal_imports(source: str, package_parts: tuple[str, ...]) -> set[str]:
    """The first component under ib_oauth_bridge of every module `source` imports, for a module
    inside the subpackage `package_parts` (relative imports are resolved against it)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - (node.level - 1)])
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [target] if target else [[alias.name] for alias in node.names]
            elif node.module and node.module.startswith("ib_oauth_bridge."):
                names = [node.module.split(".")[1:]]
            else:
                continue
            found.update(name[0] for name in names if name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ib_oauth_bridge."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts[:-1]
        extra = internal_imports(path.read_text(encoding="utf-8"), parts) - ALLOWED[layer]
        if extra:
            wrong[str(path.relative_to(PACKAGE))] = sorted(extra)
    assert wrong == {}


@pytest.mark.parametrize("module", ["clock", "errors", "outbound", "strings"])
def test_basics_import_nothing_of_the_package(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    assert internal_imports(source, ()) == set()


def test_the_checker_sees_a_forbidden_import() -> None:
    source = "from ..oauth.server import AuthorizationServer\nfrom ib_oauth_bridge.app import x\n"
    assert internal_imports(source, ("ib",)) == {"oauth", "app"}
    assert internal_imports("from . import proxy\nfrom .session import IBSession\n", ("ib",)) == {
        "ib"
    }

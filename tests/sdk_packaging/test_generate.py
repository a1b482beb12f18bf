"""sdk/generate.py: which files are the generator's, how a sync and a check treat them, and what
the committed package exports. No generator run here: `nox -s sdk_check` does that."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sdk" / "src" / "ib_oauth_bridge_client"

HELPER_EXPORTS = {
    "login", "discover", "BridgeMetadata", "Tokens", "TokenHolder", "MemoryTokenStore",
    "FileTokenStore", "BridgeAuth", "IB", "BridgeError", "OAuthError", "NetworkError",
    "LoginTimeout", "StateMismatch", "IssuerMismatch", "SignInRequired",
}  # fmt: skip


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_generate", ROOT / "sdk" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sdk_generate"] = module
    spec.loader.exec_module(module)
    return module


def write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_hand_written_paths_are_not_generated(gen: ModuleType) -> None:
    assert gen.is_generated(Path("client.py"))
    assert gen.is_generated(Path("api/oauth/token.py"))
    assert not gen.is_generated(Path("helpers/__init__.py"))
    assert not gen.is_generated(Path("helpers/sub/x.py"))
    assert not gen.is_generated(Path("py.typed"))
    assert not gen.is_generated(Path("api/__pycache__/x.cpython-311.pyc"))


def test_sync_replaces_generated_files_and_keeps_hand_written_ones(
    gen: ModuleType, tmp_path: Path
) -> None:
    write(
        tmp_path,
        {
            "__init__.py": "old\n",
            "client.py": "same\n",
            "api/gone/__init__.py": "",
            "api/gone/op.py": "stale\n",
            "helpers/__init__.py": "mine\n",
            "py.typed": "",
        },
    )
    fresh = {
        Path("__init__.py"): b"new\n",
        Path("client.py"): b"same\n",
        Path("api/oauth/token.py"): b"token\n",
    }
    actions = gen.sync(fresh, tmp_path)
    assert actions == [
        "updated: __init__.py",
        "added: api/oauth/token.py",
        "removed: api/gone/__init__.py",
        "removed: api/gone/op.py",
    ]
    assert gen.generated_files(tmp_path) == fresh
    assert not (tmp_path / "api" / "gone").exists()
    assert (tmp_path / "helpers" / "__init__.py").read_text() == "mine\n"
    assert (tmp_path / "py.typed").exists()
    assert gen.sync(fresh, tmp_path) == []


def test_compare_names_each_changed_missing_and_extra_file(gen: ModuleType) -> None:
    committed = {Path("a.py"): b"1", Path("b.py"): b"1", Path("old.py"): b"1"}
    fresh = {Path("a.py"): b"1", Path("b.py"): b"2", Path("models/new.py"): b"1"}
    problems = gen.compare(committed, fresh)
    assert len(problems) == 3
    assert problems[0].startswith("changed: sdk/src/ib_oauth_bridge_client/b.py")
    assert problems[1].startswith("missing: sdk/src/ib_oauth_bridge_client/models/new.py")
    assert problems[2].startswith("extra:   sdk/src/ib_oauth_bridge_client/old.py")
    assert gen.compare(fresh, fresh) == []


def test_generator_versions_are_pinned(gen: ModuleType) -> None:
    pins = gen.pinned_versions()
    assert set(pins) == {"openapi-python-client", "ruff"}
    assert all(version[0].isdigit() for version in pins.values())


def test_package_exports_the_client_and_every_helper() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    exports: set[str] = set()
    from_helpers: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exports = set(ast.literal_eval(node.value))
        if isinstance(node, ast.ImportFrom) and node.module == "helpers" and node.level == 1:
            from_helpers = {alias.name for alias in node.names}
    assert from_helpers == HELPER_EXPORTS
    assert exports == HELPER_EXPORTS | {"Client", "AuthenticatedClient"}


def test_sdk_depends_on_nothing_of_the_server() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "sdk" / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~; \[]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
    assert names == {"httpx", "attrs"}
    assert project["name"] == "ib-oauth-bridge-client"
    assert (PACKAGE / "py.typed").is_file()

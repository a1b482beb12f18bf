"""Regenerate the generated SDK code from openapi.yaml, or check the committed copy is current.

    python sdk/generate.py            # regenerate into sdk/src/ib_oauth_bridge_client/
    python sdk/generate.py --check    # regenerate into a temporary folder; exit 1 on any difference
    python sdk/generate.py --install-check
                                      # pip install ./sdk into a fresh venv and import it there

Run it with a Python that has the pinned versions of requirements-generate.txt installed (the nox
sessions `sdk` and `sdk_check` do). Standard library only, plus the generator as a subprocess.

What is generated and what is not: every file under src/ib_oauth_bridge_client/ is the generator's,
except helpers/ (hand-written) and py.typed. Those are never written, compared or deleted here.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SDK = Path(__file__).resolve().parent
ROOT = SDK.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = SDK / "openapi-python-client.yaml"
TEMPLATES = SDK / "templates"
REQUIREMENTS = SDK / "requirements-generate.txt"
PACKAGE_NAME = "ib_oauth_bridge_client"
PACKAGE = SDK / "src" / PACKAGE_NAME

# Paths (relative to the package) that belong to people, not to the generator.
HAND_WRITTEN = ("helpers", "py.typed")
# Caches that tools leave behind; never part of either side of a comparison.
IGNORED_PARTS = frozenset({"__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache"})

# What a user's environment must not contain after `pip install ./sdk`: the server and its stack.
FORBIDDEN_IN_CLIENT = ("starlette", "authlib", "ib_oauth_bridge")


class GenerateError(Exception):
    """The generator failed, or its pinned tools are missing."""


def pinned_versions(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """`name==version` lines of requirements-generate.txt, as {name: version}."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise GenerateError(f"{requirements.name}: not pinned with '==': {line!r}")
            pins[name.strip()] = version.strip()
    return pins


def check_tool_versions() -> None:
    """Refuse to run with other versions than the pinned ones: their output would differ."""
    wrong = []
    for name, want in pinned_versions().items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            wrong.append(f"{name}: pinned {want}, found {have}")
    if wrong:
        raise GenerateError(
            "the generator's tools differ from sdk/requirements-generate.txt "
            f"({'; '.join(wrong)}); run `nox -s sdk` or install that file first"
        )


def is_generated(relative: Path) -> bool:
    """Whether a path inside the package is the generator's to write, compare and delete."""
    if IGNORED_PARTS.intersection(relative.parts):
        return False
    return relative.parts[0] not in HAND_WRITTEN


def generated_files(package: Path) -> dict[Path, bytes]:
    """Every generated file under `package`, relative path -> content."""
    if not package.is_dir():
        return {}
    files = {}
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if path.is_file() and is_generated(relative):
            files[relative] = path.read_bytes()
    return files


def generate(out: Path, spec: Path = SPEC) -> None:
    """Run the generator into `out` (which must not exist), with the committed config/templates."""
    check_tool_versions()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    if shutil.which("ruff", path=env["PATH"]) is None:
        raise GenerateError("ruff is not on PATH: the post_hooks need it")
    command = [
        sys.executable, "-m", "openapi_python_client", "generate",
        "--path", str(spec),
        "--config", str(CONFIG),
        "--custom-template-path", str(TEMPLATES),
        "--meta", "none",
        "--output-path", str(out),
        "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    # The generator reports some failures (a post_hook that failed) on stdout with exit status 0.
    output = (result.stdout + result.stderr).strip()
    lines = [line for line in output.splitlines() if line.strip() and "Generating" not in line]
    if result.returncode != 0 or lines or not (out / "__init__.py").is_file():
        detail = textwrap.indent(output, "  ")
        raise GenerateError(f"openapi-python-client failed (exit {result.returncode}):\n{detail}")


def compare(committed: dict[Path, bytes], fresh: dict[Path, bytes]) -> list[str]:
    """One line per differing file ('changed', 'missing' from the repo, 'extra' in the repo)."""
    problems = []
    for relative in sorted(committed.keys() | fresh.keys()):
        shown = f"sdk/src/{PACKAGE_NAME}/{relative.as_posix()}"
        if relative not in committed:
            problems.append(f"missing: {shown} (the generator makes it; the repo lacks it)")
        elif relative not in fresh:
            problems.append(f"extra:   {shown} (in the repo; the generator no longer makes it)")
        elif committed[relative] != fresh[relative]:
            problems.append(f"changed: {shown}")
    return problems


def unified_diff(relative: Path, old: bytes, new: bytes, limit: int = 40) -> str:
    name = f"sdk/src/{PACKAGE_NAME}/{relative.as_posix()}"
    diff = list(
        difflib.unified_diff(
            old.decode(errors="replace").splitlines(),
            new.decode(errors="replace").splitlines(),
            f"{name} (committed)",
            f"{name} (regenerated)",
            lineterm="",
        )
    )
    if len(diff) > limit:
        diff = [*diff[:limit], f"... {len(diff) - limit} more diff lines"]
    return "\n".join(diff)


def sync(fresh: dict[Path, bytes], package: Path = PACKAGE) -> list[str]:
    """Make the generated files under `package` exactly `fresh`; hand-written ones are untouched."""
    committed = generated_files(package)
    actions = []
    for relative, content in sorted(fresh.items()):
        if committed.get(relative) != content:
            target = package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            actions.append(f"{'updated' if relative in committed else 'added'}: {relative}")
    for relative in sorted(committed.keys() - fresh.keys()):
        (package / relative).unlink()
        actions.append(f"removed: {relative}")
    # Folders the generator no longer makes (deepest first); never a hand-written one.
    for folder in sorted((p for p in package.rglob("*") if p.is_dir()), reverse=True):
        relative = folder.relative_to(package)
        if is_generated(relative) and not any(folder.iterdir()):
            folder.rmdir()
    return actions


def regenerate(check: bool, spec: Path = SPEC, package: Path = PACKAGE) -> int:
    with tempfile.TemporaryDirectory(prefix="ib-sdk-") as tmp:
        out = Path(tmp) / PACKAGE_NAME
        generate(out, spec)
        fresh = generated_files(out)
    if check:
        committed = generated_files(package)
        problems = compare(committed, fresh)
        if not problems:
            print(f"SDK is current: {len(fresh)} generated files match {spec.name}.")
            return 0
        for relative in sorted(committed.keys() & fresh.keys()):
            if committed[relative] != fresh[relative]:
                print(unified_diff(relative, committed[relative], fresh[relative]))
        print(f"\nThe committed SDK differs from what {spec.name} generates:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print("Run `nox -s sdk` and commit the result.", file=sys.stderr)
        return 1
    actions = sync(fresh, package)
    print("\n".join(actions) if actions else "SDK already current.")
    print(f"{len(fresh)} generated files in {package.relative_to(ROOT)}.")
    return 0


INSTALL_CHECK = f"""
import importlib.util, pathlib, sys
import {PACKAGE_NAME} as sdk
location = pathlib.Path(sdk.__file__).resolve()
assert "site-packages" in location.parts, f"imported from the source tree: {{location}}"
assert (location.parent / "py.typed").is_file(), "py.typed is not installed"
present = [n for n in {FORBIDDEN_IN_CLIENT!r} if importlib.util.find_spec(n) is not None]
assert not present, f"server packages importable next to the client: {{present}}"
missing = [n for n in sdk.__all__ if not hasattr(sdk, n)]
assert not missing, f"exported but missing: {{missing}}"
from {PACKAGE_NAME}.api.discovery import authorization_server_metadata  # noqa: F401
print(f"standalone install OK: {{location.parent}} ({{len(sdk.__all__)}} exports);",
      "none of {", ".join(FORBIDDEN_IN_CLIENT)} importable")
"""


def install_check() -> int:
    """`pip install ./sdk` into a fresh venv (no repo on sys.path) and import the client there."""
    with tempfile.TemporaryDirectory(prefix="ib-sdk-venv-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", str(SDK)], check=True, cwd=tmp)
        installed = subprocess.run(
            [*pip, "list", "--format=freeze"], check=True, cwd=tmp, capture_output=True, text=True
        ).stdout.split()
        print("installed:", " ".join(installed))
        return subprocess.run([str(python), "-c", INSTALL_CHECK], cwd=tmp, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if the committed SDK is stale")
    mode.add_argument("--install-check", action="store_true", help="install ./sdk in a fresh venv")
    parser.add_argument("--spec", type=Path, default=SPEC, help="OpenAPI document (openapi.yaml)")
    args = parser.parse_args(argv)
    try:
        if args.install_check:
            return install_check()
        return regenerate(check=args.check, spec=args.spec.resolve())
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

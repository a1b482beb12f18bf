"""Every task a developer or CI runs. `nox` alone runs lint, typecheck, tests, sdk_check and docs.

On a machine without nox, `python3 noxfile.py ...` first installs nox into .nox/_bootstrap
(with pip, nothing else needed) and then runs the same sessions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent

try:
    import nox
except ModuleNotFoundError:
    if __name__ != "__main__":
        raise
    bootstrap = ROOT / ".nox" / "_bootstrap"
    python = bootstrap / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(bootstrap)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "nox>=2024.10"],
                       check=True)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])

nox.options.sessions = ["lint", "typecheck", "tests", "sdk_check", "docs"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = False

SERVER = str(ROOT / "server")
TEST_DEPS = [
    "pytest>=8.3", "pytest-timeout>=2.3", "playwright>=1.49", "schemathesis>=4", "mcp>=2.3",
    "mypy>=1.13",
    # A test CA for https Client ID Metadata Documents on loopback (tests/servers.py);
    # requests-oauthlib's default token request is an interop peer.
    "trustme>=1.2", "requests-oauthlib>=2",
    # The Redis store backend's client (the server's `redis` extra), for its contract tests.
    "redis>=5.2",
    # tests/deployment: the bridge under each ASGI server the docs name (uvicorn comes with it).
    "gunicorn>=23", "uvicorn-worker>=0.3", "hypercorn>=0.17", "granian>=2",
    # tracing.py's test: the SDK's in-memory span exporter.
    "opentelemetry-api>=1.27", "opentelemetry-sdk>=1.27",
]
LINT_DEPS = ["ruff>=0.8"]
TYPE_DEPS = ["mypy>=1.13", "types-PyYAML"]
# The Python SDK (sdk/): generated from openapi.yaml by sdk/generate.py with the generator and ruff
# pinned in sdk/requirements-generate.txt, plus the hand-written helpers/ package.
SDK = str(ROOT / "sdk")
SDK_GENERATOR_DEPS = ["-r", str(ROOT / "sdk" / "requirements-generate.txt")]
SDK_HAND_WRITTEN = ["sdk/generate.py", "sdk/src/ib_oauth_bridge_client/helpers"]
# tests/interop's MCP host on the official TypeScript SDK: its packages, pinned by its lockfile.
INTEROP_NODE = ROOT / "tests" / "interop" / "node"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: unit, store, emulator and integration tests over real sockets."""
    session.install("-e", SERVER, "-e", SDK, *TEST_DEPS)
    _install_node_packages(session)
    # tests/docs runs in the docs session, against the site it has just built.
    session.run("pytest", *(session.posargs or ["tests", "--ignore=tests/docs"]))


def _install_node_packages(session: nox.Session) -> None:
    """`npm ci` in tests/interop/node when Node.js is here and its packages are missing or older
    than the lockfile: the MCP TypeScript SDK (tests/interop) and axe-core (tests/browser's
    accessibility checks). Without Node, those skip (and fail in CI, which installs it)."""
    installed = INTEROP_NODE / "node_modules" / ".package-lock.json"
    lockfile = INTEROP_NODE / "package-lock.json"
    if not shutil.which("npm"):
        session.warn("no npm: tests/interop and tests/browser's axe-core checks will be skipped")
        return
    if installed.exists() and installed.stat().st_mtime >= lockfile.stat().st_mtime:
        return
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", str(INTEROP_NODE),
                external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the server, the tests, the examples, the benchmark, the docs hook and this file."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", "server/src", "tests", "examples", "bench", "noxfile.py",
                "docs/hooks")
    session.run("ruff", "format", "--check", "server/src")
    # The SDK's hand-written files only (sdk/pyproject.toml's settings); its generated code is
    # formatted by the generator's own post_hooks and checked by sdk_check.
    session.run("ruff", "check", *SDK_HAND_WRITTEN)
    session.run("ruff", "format", "--check", *SDK_HAND_WRITTEN)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the server package, its optional backends included."""
    session.install("-e", f"{SERVER}[redis,otel]", *TYPE_DEPS)
    session.chdir(SERVER)
    session.run("mypy")


@nox.session
def sdk(session: nox.Session) -> None:
    """Regenerate the generated SDK code from openapi.yaml (`nox -s sdk -- --check`: only check)."""
    session.install(*SDK_GENERATOR_DEPS)
    session.run("python", "sdk/generate.py", *session.posargs)


@nox.session
def sdk_check(session: nox.Session) -> None:
    """The committed SDK is what openapi.yaml generates, types under mypy --strict, and installs
    alone: `pip install ./sdk` in a fresh venv brings in none of the server's packages."""
    session.install(*SDK_GENERATOR_DEPS, *TYPE_DEPS, "-e", SDK)
    session.run("python", "sdk/generate.py", "--check")
    session.run("mypy", "--config-file", "sdk/pyproject.toml")
    session.run("python", "sdk/generate.py", "--install-check")


# The documentation site (mkdocs.yml): Material, mkdocstrings for the SDK's docstrings, and a
# Swagger UI plugin that ships its own JS and CSS (the site loads nothing from elsewhere).
DOCS_DEPS = [
    "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.27",
    "mkdocs-swagger-ui-tag>=0.6",
]
DOCS_TEST_DEPS = ["pytest>=8.3", "pytest-timeout>=2.3", "playwright>=1.49"]


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with `mkdocs build --strict`, then run its tests:
    every runnable snippet against a real bridge and emulator, and the built site's offline
    check (`nox -s docs -- --serve` serves it on :8008 instead)."""
    session.install("-e", SERVER, "-e", SDK, *DOCS_DEPS, *DOCS_TEST_DEPS)
    if "--serve" in session.posargs:
        session.run("mkdocs", "serve", "--strict", "--dev-addr", "127.0.0.1:8008")
        return
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", "tests/docs", env={"DOCS_SITE_DIR": str(ROOT / "site")})


@nox.session
def dev(session: nox.Session) -> None:
    """Start the IB emulator and the bridge in dev mode (`nox -s dev -- --port 9000`)."""
    session.install("-e", SERVER)
    session.run("ib-oauth-bridge", "dev", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each against a baseline measured in the same run."""
    session.install("-e", SERVER)
    session.run("python", "bench/run.py", *session.posargs)


if __name__ == "__main__":
    nox.main()

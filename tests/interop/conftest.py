"""Clients written against other languages' MCP SDKs, run as programs against the session's
bridge and examples/mcp_server.

Node and the packages of tests/interop/node (installed by `npm ci` from its package-lock.json:
.ci/run and `nox -s tests` do it when `node` is on the PATH) are found here. Without them, these
tests are skipped on a developer's machine (with the reason in pytest's summary) and fail in CI.
"""

from __future__ import annotations

import os
import shutil

import pytest

from node_client import NODE_DIR, SDK_PACKAGE, NodeClient

NODE = os.environ.get("IB_BRIDGE_TEST_NODE") or shutil.which("node") or "node"


@pytest.fixture(scope="session")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> NodeClient:
    problem = None
    if not shutil.which(NODE):
        problem = f"no Node.js at {NODE!r} (apt-get install -y nodejs npm)"
    elif not SDK_PACKAGE.exists():
        problem = f"the MCP TypeScript SDK is not installed: run `npm ci` in {NODE_DIR}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)  # CI installs both: a missing one is a broken CI, not a skip
        pytest.skip(problem)
    return NodeClient(NODE, tmp_path_factory.mktemp("node_client"))

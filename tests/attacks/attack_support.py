"""Small helpers shared by the attack suites (a module of its own, not a conftest: test modules
import it by name)."""

from __future__ import annotations

import contextlib
import sqlite3

from inprocess_stack import Stack


def live_grants(stack: Stack) -> int:
    """Grants not revoked (a revoked grant's row stays until it expires)."""
    with contextlib.closing(sqlite3.connect(stack.store.path)) as db:
        count: int = db.execute("SELECT count(*) FROM grants WHERE revoked = 0").fetchone()[0]
    return count


async def userinfo_status(stack: Stack, access_token: str) -> int:
    answer = await stack.http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return answer.status_code

"""The admin commands of `ib-oauth-bridge`: grants, registered clients, and the store's
housekeeping and backups. Each works on the store the IB_BRIDGE_* settings name (or a dev
stack's `--data-dir`), while bridges run on it.

`grants revoke` (and `clients delete`, for the client's grants) has the effect of the server's
own revocation (`AuthorizationServer.end_grant`): the store marks the grant revoked, deletes its
codes and refresh tokens, and moves the revocation counter, which makes every running bridge
drop its cached sessions within a second; the audit log gets `grant.ended` (reason `admin`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import anyio

from .audit import Event, Outcome, emit_admin
from .oauth.clients import MCP_PUBLIC_CLIENT_ID
from .settings import Settings
from .store import GrantSummary, RegisteredClient, Store, open_store
from .store.backup import BackupError, backup, restore

try:
    from redis import RedisError

    from .store.redis import StoreUnavailableError
except ModuleNotFoundError:  # the optional redis extra is not installed: no Redis store either

    class StoreUnavailableError(RuntimeError):  # type: ignore[no-redef]
        pass

    class RedisError(Exception):  # type: ignore[no-redef]
        pass


__all__ = ["add_commands", "add_store_actions", "run"]

PAGE = 500  # grants read from the store per call while listing
REASON = "admin"  # the audit reason of what these commands end
GRANT_COLUMNS = (
    "GRANT",
    "CLIENT",
    "USER",
    "NAME",
    "CREATED",
    "LAST USED",
    "REFRESHES",
    "SESSION ENDS",
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `grants` and `clients` commands."""
    grants = commands.add_parser("grants", help="list the live grants (sign-ins), or revoke one")
    grant_actions = grants.add_subparsers(dest="action", required=True)
    listing = grant_actions.add_parser(
        "list",
        help="list live grants: id, client, IB user, created, last used, refreshes, session end",
        description="List the live grants (signed-in users, each for one client): neither "
        "revoked nor past the end of their IB session. A table, or JSON lines with --json.",
    )
    listing.add_argument(
        "--user", metavar="EMAIL|ID", help="only this IB user's (email, any case, or IB user id)"
    )
    listing.add_argument("--client", metavar="ID", help="only those of this client id")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = grant_actions.add_parser(
        "revoke",
        help="end a grant: its tokens stop working at every bridge within a second",
        description="Revoke a grant, as the server does on a replay or an IB logout: its codes "
        "and refresh tokens are deleted, its access tokens are refused by every running bridge "
        "within a second, and the audit log records grant.ended (reason admin).",
    )
    revoke.add_argument("grant_id", metavar="ID", help="the grant's id (from `grants list`)")

    clients = commands.add_parser(
        "clients", help="list or delete dynamically registered (RFC 7591) clients"
    )
    client_actions = clients.add_subparsers(dest="action", required=True)
    client_list = client_actions.add_parser(
        "list",
        help="list registered clients: id, name, redirect URIs, created, used",
        description="List the clients registered through POST /register (configured clients "
        "live in IB_BRIDGE_CLIENTS, the well-known one is built in). A registration not yet "
        "used for a sign-in expires; once used it is kept until deleted.",
    )
    client_list.add_argument("--json", action="store_true", help="one JSON object per line")
    delete = client_actions.add_parser(
        "delete",
        help="delete a registered client and revoke every grant it holds",
        description="Delete a dynamically registered client: it can no longer sign anyone in "
        "or refresh, and its live grants are revoked (each audited as grant.ended). Configured "
        "and well-known clients are refused: they live in the settings.",
    )
    delete.add_argument("client_id", metavar="ID", help="the registered client's id")
    for command in (listing, revoke, client_list, delete):
        _data_dir_option(command)


def add_store_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`store purge`, `store backup PATH`, `store restore PATH`."""
    purge = actions.add_parser(
        "purge",
        help="delete expired records now and print how many went",
        description="Delete every expired record (bridges also do this on their own schedule). "
        "Redis expires records by itself, so there it removes nothing.",
    )
    back = actions.add_parser(
        "backup",
        help="write a consistent backup of the live store to PATH",
        description="Back up the store while bridges run on it. SQLite: a copy made by SQLite's "
        "online backup API, one consistent snapshot. Redis: a JSON-lines export of every key "
        "under the store's prefix as stored, with its expiry. The file holds hashes and sealed "
        "values only, never a key: restoring needs the same IB_BRIDGE_ENCRYPTION_KEY and "
        "signing keys. It is created owner-only and never over an existing file.",
    )
    back.add_argument("path", type=Path, metavar="PATH", help="the backup file to create")
    rest = actions.add_parser(
        "restore",
        help="restore a backup from PATH into the store (empty unless --force)",
        description="Restore a backup made by `store backup` into the store the settings name "
        "(a new data dir, say). SQLite: checked to be a bridge store of a schema this build "
        "knows, then copied in one transaction. Redis: every record written back under the "
        "store's prefix with the expiry it had; records that expired since are skipped.",
    )
    rest.add_argument("path", type=Path, metavar="PATH", help="the backup file to read")
    rest.add_argument(
        "--force",
        action="store_true",
        help="replace a store that holds records (stop the bridges on it first)",
    )
    for command in (purge, back, rest):
        _data_dir_option(command)


def _data_dir_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the dev stack's data directory (default: the IB_BRIDGE_* settings)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one admin command; the exit status (1: refused or not found)."""
    handlers: dict[tuple[str, str], Callable[[Store], object]] = {
        ("grants", "list"): lambda s: list_grants(s, args.user, args.client, args.json),
        ("grants", "revoke"): lambda s: revoke_grant(s, settings, args.grant_id),
        ("clients", "list"): lambda s: list_clients(s, args.json),
        ("clients", "delete"): lambda s: delete_client(s, settings, args.client_id),
        ("store", "purge"): purge,
        ("store", "backup"): lambda s: backup_store(s, args.path),
        ("store", "restore"): lambda s: restore_store(s, args.path, args.force),
    }
    handler = handlers[(args.command, args.action)]

    async def main() -> int:
        store = open_store(settings.effective_store_url)
        try:
            status = await handler(store)  # type: ignore[misc]
            return int(status)
        finally:
            await store.close()

    try:
        return anyio.run(main)
    except (BackupError, StoreUnavailableError) as exc:
        print(f"ib-oauth-bridge: {exc}", file=sys.stderr)
        return 1
    except (RedisError, sqlite3.Error, OSError) as exc:
        # The store (or the backup file) failed midway: say what, without a traceback, and
        # without the store URL's password should the message quote it.
        message = str(exc)
        password = urlsplit(settings.effective_store_url.strip()).password
        if password:
            message = message.replace(password, "***").replace(unquote(password), "***")
        print(f"ib-oauth-bridge: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1


# -- grants --------------------------------------------------------------------------------------


async def live_grants(
    store: Store, user: str | None = None, client_id: str | None = None
) -> list[GrantSummary]:
    """Every live grant (of `user`, of `client_id`), paging through the store."""
    found: list[GrantSummary] = []
    after = ""
    while True:
        page = await store.list_grants(user=user, client_id=client_id, after=after, limit=PAGE)
        found.extend(page)
        if len(page) < PAGE:
            return found
        after = page[-1].grant_id


def grant_json(grant: GrantSummary) -> dict[str, object]:
    entry = dataclasses.asdict(grant)
    for name in ("created_at", "last_used_at", "session_expires_at"):
        entry[name] = iso(entry[name])
    return entry


async def list_grants(store: Store, user: str | None, client_id: str | None, as_json: bool) -> int:
    grants = await live_grants(store, user, client_id)
    if as_json:
        for grant in grants:
            print(json.dumps(grant_json(grant)))
        return 0
    rows = [
        (
            g.grant_id,
            g.client_id,
            g.user_email or g.user_id or "-",
            g.user_name or "-",
            iso(g.created_at),
            iso(g.last_used_at),
            str(g.refresh_count),
            iso(g.session_expires_at),
        )
        for g in grants
    ]
    print_table(GRANT_COLUMNS, rows)
    print(f"{len(grants)} live grant{'' if len(grants) == 1 else 's'}")
    return 0


async def revoke_grant(store: Store, settings: Settings, grant_id: str) -> int:
    grant = await store.get_grant(grant_id)
    if grant is None:
        print(f"ib-oauth-bridge: no live grant {cell(grant_id)}", file=sys.stderr)
        return 1
    await end_grant(store, settings, GrantSummary.of(grant))
    print(
        f"revoked grant {grant.grant_id} (client {cell(grant.client_id)}); running bridges "
        "refuse its tokens within a second"
    )
    return 0


async def end_grant(store: Store, settings: Settings, grant: GrantSummary) -> None:
    """The server's `end_grant`, from outside it: revoke (the counter moves, so every bridge
    drops its cached sessions), then audit."""
    await store.revoke_grant(grant.grant_id)
    emit_admin(
        _audit_settings(settings),
        Event.GRANT_ENDED,
        Outcome.REVOKED,
        grant_id=grant.grant_id,
        client_id=grant.client_id,
        ib_user_id=grant.user_id,
        reason=REASON,
    )


# -- clients -------------------------------------------------------------------------------------


def client_json(client: RegisteredClient) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "created_at": iso(client.client_id_issued_at),
        "used": client.expires_at is None,
        "expires_at": None if client.expires_at is None else iso(client.expires_at),
    }


async def list_clients(store: Store, as_json: bool) -> int:
    clients = await store.list_clients()
    if as_json:
        for client in clients:
            print(json.dumps(client_json(client)))
        return 0
    rows = [
        (
            c.client_id,
            c.client_name or "-",
            " ".join(c.redirect_uris),
            iso(c.client_id_issued_at),
            "yes" if c.expires_at is None else f"no (expires {iso(c.expires_at)})",
        )
        for c in clients
    ]
    print_table(("CLIENT", "NAME", "REDIRECT URIS", "CREATED", "USED"), rows)
    print(f"{len(clients)} registered client{'' if len(clients) == 1 else 's'}")
    return 0


def not_deletable(settings: Settings, client_id: str) -> str | None:
    """Why `client_id` is not a registration the store can delete, or None."""
    if client_id == MCP_PUBLIC_CLIENT_ID:
        return f"{client_id} is the built-in well-known client; it cannot be deleted"
    if any(c.client_id == client_id for c in settings.clients):
        return f"{cell(client_id)} is configured in IB_BRIDGE_CLIENTS; remove it there"
    if client_id.startswith("https://"):
        return f"{cell(client_id)} is a client metadata document, not a registration"
    return None


async def delete_client(store: Store, settings: Settings, client_id: str) -> int:
    refused = not_deletable(settings, client_id)
    if refused is not None:
        print(f"ib-oauth-bridge: {refused}", file=sys.stderr)
        return 1
    # The registration first, so that no new sign-in starts; then what it already holds.
    if not await store.delete_client(client_id):
        print(f"ib-oauth-bridge: no registered client {cell(client_id)}", file=sys.stderr)
        return 1
    emit_admin(
        _audit_settings(settings),
        Event.CLIENT_DELETED,
        Outcome.SUCCESS,
        client_id=client_id,
        reason=REASON,
    )
    grants = await live_grants(store, client_id=client_id)
    for grant in grants:
        await end_grant(store, settings, grant)
    print(f"deleted client {cell(client_id)}; revoked {len(grants)} of its grants")
    return 0


# -- store ---------------------------------------------------------------------------------------


async def purge(store: Store) -> int:
    removed = await store.purge_expired()
    print(f"{removed} expired records removed")
    return 0


async def backup_store(store: Store, path: Path) -> int:
    result = await backup(store, path)
    print(f"backed up {result.records} records to {path}")
    return 0


async def restore_store(store: Store, path: Path, force: bool) -> int:
    result = await restore(store, path, force=force)
    skipped = f" ({result.skipped} expired since the backup, skipped)" if result.skipped else ""
    print(f"restored {result.records} records from {path}{skipped}")
    return 0


# -- output --------------------------------------------------------------------------------------


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def cell(text: str) -> str:
    """`text` safe to print to a terminal: client names, user names and ids come from outside
    (a registration, IB), and a control character in them (an escape sequence) must not reach
    the operator's terminal. Control and format characters (Unicode C*) become '?'."""
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in text)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    cells = [list(header), *([cell(value) for value in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


def _audit_settings(settings: Settings) -> Settings:
    # The command's own output goes to stdout; an audit log configured there goes to stderr.
    if settings.audit_log == "stdout":
        return dataclasses.replace(settings, audit_log="stderr")
    return settings

#!/usr/bin/env python3
"""Sign in to IntelligenceBank through the IB OAuth Bridge, list the newest resources and
download one.

    python examples/cli_login/cli_login.py --bridge-url http://127.0.0.1:8000

The first run opens the browser (or prints a link) to sign in; the tokens are saved to a private
file (mode 0600), so later runs go straight to work until the sign-in ends.
"""

from __future__ import annotations

import argparse
import re
import sys
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ib_oauth_bridge_client import (
    IB,
    BridgeError,
    FileTokenStore,
    IssuerMismatch,
    LoginTimeout,
    NetworkError,
    SignInRequired,
    StateMismatch,
    TokenHolder,
    discover,
    login,
)

# The bridge's built-in public client: it accepts a loopback redirect on any port (RFC 8252).
CLIENT_ID = "mcp-public-client"
DEFAULT_TOKEN_FILE = Path("~/.config/ib-bridge/tokens.json")
NEWEST = 10

# IB's documentation available to this project does not name the endpoint that serves a
# resource's file, so by default the file comes from the IB emulator's test endpoint, which
# streams `size` deterministic bytes. Against a real IB, pass --file-path with your tenant's
# endpoint, e.g. --file-path 'resource/{id}/file'.
EMULATOR_FILE_PATH = "file/generated?size={size}&seed={seed}"

# Exit codes.
SIGN_IN_FAILED, NETWORK_FAILED, REFUSED, LOCAL_FAILURE, CANCELLED = 1, 2, 3, 4, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        holder = sign_in(args.bridge_url, FileTokenStore(args.token_file), args.open_browser)
        with IB(args.bridge_url, holder) as ib:
            print(describe(ib.user()))
            rows = ib.resources(limit=NEWEST)
            print()
            print_table(rows)
            print()
            resource = choose(ib, rows, args.download)
            if resource is None:
                print("None of these resources has a file to download.")
            else:
                download(ib, resource, args.download_dir, args.file_path)
    except SignInRequired:
        return fail(SIGN_IN_FAILED, "Your sign-in has ended. Run this again to sign in.")
    except (LoginTimeout, StateMismatch, IssuerMismatch) as exc:
        return fail(SIGN_IN_FAILED, f"Sign-in failed: {exc}")
    except NetworkError as exc:
        return fail(NETWORK_FAILED, f"Cannot reach the bridge at {args.bridge_url}: {exc}")
    except BridgeError as exc:  # OAuthError, or an answer the SDK could not make sense of
        return fail(REFUSED, f"The bridge or IntelligenceBank refused: {exc}")
    except OSError as exc:
        return fail(LOCAL_FAILURE, f"Cannot write the file: {exc}")
    except KeyboardInterrupt:
        return fail(CANCELLED, "Cancelled.")
    return 0


def sign_in(bridge_url: str, store: FileTokenStore, open_browser: bool) -> TokenHolder:
    """The saved sign-in while it is still valid, else a new one through the browser."""
    metadata = discover(bridge_url)
    try:
        saved = TokenHolder.from_store(metadata, CLIENT_ID, store)
    except BridgeError:  # an unreadable token file: the new sign-in overwrites it
        saved = None
    if saved is not None:
        try:
            saved.access_token()  # refreshes it first when it is about to expire
        except SignInRequired:
            print("Your saved sign-in has ended; signing in again.")
        else:
            print(f"Using the saved sign-in in {store.path}")
            return saved
    print("Waiting for you to sign in to IntelligenceBank in your browser (Ctrl-C to cancel)...")
    return login(
        bridge_url,
        client_id=CLIENT_ID,
        store=store,
        open_browser=None if open_browser else never_open,
        print_url=show_link,
    )


def never_open(url: str) -> bool:
    """--no-browser: open nothing, so `login()` prints the link instead."""
    return False


def show_link(url: str) -> None:
    print(f"Open this link in a browser to sign in to IntelligenceBank:\n\n    {url}\n", flush=True)


def describe(user: dict[str, Any]) -> str:
    """``Signed in as Ada Lovelace <ada@example.com> at Demo Co``"""
    text = f"Signed in as {user.get('name') or user.get('sub')}"
    if user.get("email"):
        text += f" <{user['email']}>"
    if user.get("ib_client_name"):
        text += f" at {user['ib_client_name']}"
    return text


def has_file(row: dict[str, Any]) -> bool:
    return isinstance(row.get("file"), dict) and isinstance(row["file"].get("size"), int)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("Name", "Type", "Size", "Last update (UTC)")
    lines = [
        (
            str(row.get("name", "")),
            str(row["file"].get("type", "")) if has_file(row) else "-",
            human_size(row["file"]["size"]) if has_file(row) else "-",
            timestamp(row.get("lastUpdateTime")),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    print(f"The {len(rows)} most recently updated resources:\n")
    for line in [header, tuple("-" * width for width in widths), *lines]:
        name, kind, size, updated = line
        print(f"{name:<{widths[0]}}  {kind:<{widths[1]}}  {size:>{widths[2]}}  {updated}".rstrip())


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def timestamp(value: object) -> str:
    """IB's ``2024-12-22T08:03:20.000Z`` as ``2024-12-22 08:03``."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value or "-")


def choose(ib: IB, rows: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    """The resource `--download` names, else the first of `rows` with a file."""
    if wanted:
        resource: dict[str, Any] = ib.get(f"resource/{wanted}")["response"]
        return resource
    return next((row for row in rows if has_file(row)), None)


def download(ib: IB, resource: dict[str, Any], directory: Path, file_path: str) -> None:
    if not has_file(resource):
        print(f"{resource.get('name', resource.get('_id'))} has no file to download.")
        return
    file = resource["file"]
    rid = str(resource["_id"])
    name = Path(str(file.get("name") or rid)).name or rid  # never a path from the server
    print(f"Downloading {resource.get('name', rid)} ({human_size(file['size'])})", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    path = file_path.format(id=rid, size=file["size"], seed=zlib.crc32(rid.encode()))
    saved = ib.download(path, directory / name)  # a progress bar on stderr
    print(f"Saved {saved} ({saved.stat().st_size:,} bytes)")


def resource_id(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise argparse.ArgumentTypeError(f"not a resource id: {text!r}")
    return text


def fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sign in to IntelligenceBank through the IB OAuth Bridge, list the newest "
        "resources and download one."
    )
    parser.add_argument(
        "--bridge-url", default="http://127.0.0.1:8000", help="the bridge (default: %(default)s)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=DEFAULT_TOKEN_FILE,
        help="where the sign-in is saved (default: %(default)s)",
    )
    parser.add_argument(
        "--download-dir", type=Path, default=Path("."), help="where to save the file (default: .)"
    )
    parser.add_argument(
        "--download",
        metavar="ID",
        type=resource_id,
        help="the resource to download (default: the newest one with a file)",
    )
    parser.add_argument(
        "--file-path",
        default=EMULATOR_FILE_PATH,
        help="API path of a resource's file, with {id}, {size} and {seed} filled in "
        "(default: the IB emulator's %(default)s)",
    )
    browser = parser.add_mutually_exclusive_group()
    browser.add_argument(
        "--open-browser",
        dest="open_browser",
        action="store_true",
        default=True,
        help="open the sign-in page in the browser (default)",
    )
    browser.add_argument(
        "--no-browser",
        dest="open_browser",
        action="store_false",
        help="print the sign-in link instead of opening a browser",
    )
    args = parser.parse_args(argv)
    args.token_file = args.token_file.expanduser()
    args.download_dir = args.download_dir.expanduser()
    return args


if __name__ == "__main__":
    sys.exit(main())

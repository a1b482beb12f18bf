"""`ib-oauth-bridge`: dev (bridge + IB emulator), serve (production), emulator, keys, store,
grants, clients."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import uvicorn

from . import admin, devsecrets
from .devib import EmulatorConfig
from .devib import create_app as create_emulator_app
from .keyrotation import (
    PUBLISH_AHEAD,
    ResealCount,
    audit_rotation,
    describe,
    reseal_store,
    rotate_encryption,
    rotate_signing,
)
from .logs import configure_logging
from .metrics import MULTIPROC_ENV
from .oauth.keys import SigningKeyError, generate_signing_key
from .settings import Settings, SettingsError
from .store import StoreURLError, open_store
from .store.crypto import EncryptionKeyError, EncryptionKeySource
from .store.records import SealedKind


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ib-oauth-bridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the bridge and the IB emulator for local work")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--emulator-port", type=int, default=8001)
    dev.add_argument("--data-dir", type=Path, default=Path(".bridge-data"))

    serve = commands.add_parser("serve", help="run the bridge with IB_BRIDGE_* settings")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: one per core; each runs its own event loop)",
    )

    emulator = commands.add_parser("emulator", help="run only the IB emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8001)
    emulator.add_argument(
        "--api-host",
        default="localhost",
        help="host name of the emulated v3 API (differs from the platform's)",
    )

    keys = commands.add_parser(
        "keys", help="print new secrets as IB_BRIDGE_* lines, or rotate the keys in use"
    )
    key_actions = keys.add_subparsers(dest="action")
    signing = key_actions.add_parser(
        "rotate-signing",
        help="sign with a new key; the old one verifies until the longest token has expired",
    )
    signing.add_argument(
        "--publish-ahead",
        type=float,
        default=PUBLISH_AHEAD,
        metavar="SECONDS",
        help=f"publish the new key this long before it signs (default {PUBLISH_AHEAD}: the "
        "max-age of /jwks.json)",
    )
    signing.add_argument(
        "--retire-now",
        action="store_true",
        help="the old key leaked: the new key signs at once and the old one is dropped at "
        "once (tokens it signed stop working)",
    )
    encryption = key_actions.add_parser(
        "rotate-encryption", help="seal with a new key; the old one only decrypts"
    )
    store = commands.add_parser("store", help="maintenance of the store")
    store_actions = store.add_subparsers(dest="action", required=True)
    reseal = store_actions.add_parser(
        "reseal", help="seal everything sealed with a previous encryption key with the current"
    )
    admin.add_store_actions(store_actions)
    admin.add_commands(commands)
    for command in (signing, encryption, reseal):
        command.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="the dev stack's data directory (default: the IB_BRIDGE_* settings)",
        )

    args = parser.parse_args(argv)
    try:
        if args.command == "dev":
            return run_dev(args.host, args.port, args.emulator_port, args.data_dir)
        if args.command == "serve":
            return run_serve(args.host, args.port, args.workers)
        if args.command == "emulator":
            config = EmulatorConfig(platform_host=args.host, api_host=args.api_host, port=args.port)
            uvicorn.run(
                create_emulator_app(config), host=args.host, port=args.port, log_level="warning"
            )
            return 0
        if args.command == "store" and args.action == "reseal":
            return run_reseal(command_settings(args.data_dir))
        if args.command in {"store", "grants", "clients"}:
            return admin.run(args, command_settings(args.data_dir))
        if args.action is not None:
            return run_rotation(args.action, command_settings(args.data_dir), args)
        return print_keys()
    except (SettingsError, SigningKeyError, EncryptionKeyError, StoreURLError) as exc:
        print(f"ib-oauth-bridge: {exc}", file=sys.stderr)
        return 2


def dev_settings(host: str, port: int, emulator: EmulatorConfig, data_dir: Path) -> Settings:
    secrets_ = devsecrets.load_or_create(data_dir)
    # The keys are files (see devsecrets): `keys rotate-* --data-dir` rewrites them in place.
    # Everything else (IB_BRIDGE_CLIENTS, _CORS_ORIGINS, _ALLOWED_RESOURCES, ...) still comes
    # from the environment, so examples can register their clients with the dev stack.
    return Settings.from_env(
        issuer=f"http://{host}:{port}",
        dev_mode=True,
        data_dir=data_dir,
        dev_ib_urls=(emulator.platform_url, emulator.api_v3_url),
        signing_key=secrets_.signing_key,
        previous_signing_keys=(secrets_.previous_signing_keys,),
        encryption_key=secrets_.encryption_key,
        previous_encryption_keys=(secrets_.previous_encryption_keys,),
        cookie_secret=secrets_.cookie_secret,
        log_format="text",
    )


def run_dev(host: str, port: int, emulator_port: int, data_dir: Path) -> int:
    from .app import create_app

    emulator = EmulatorConfig(port=emulator_port)
    settings = dev_settings(host, port, emulator, data_dir)
    # The emulator runs in a thread of its own; uvicorn leaves signals to the main thread,
    # where the bridge's server catches Ctrl-C and we then stop the emulator.
    emulator_server = uvicorn.Server(
        uvicorn.Config(
            create_emulator_app(emulator),
            host=emulator.platform_host,
            port=emulator_port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=emulator_server.run, name="ib-emulator", daemon=True)
    thread.start()
    print(
        f"\n  IB OAuth Bridge (dev mode)\n"
        f"  Playground        {settings.issuer}/\n"
        f"  Issuer            {settings.issuer}\n"
        f"  Metadata          {settings.issuer}/.well-known/oauth-authorization-server\n"
        f"  IB emulator       {emulator.platform_url}  (API at {emulator.api_v3_url})\n"
        f"  Demo login        demo / demo\n"
        f"  Data              {data_dir.resolve()}\n"
        f"  Stop with Ctrl-C\n",
        flush=True,
    )
    try:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",
            **server_limits(settings),
        )
    finally:
        emulator_server.should_exit = True
        thread.join(timeout=5)
    return 0


def server_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's own protections, from the settings (docs/configuration.md, "Limits").

    - `timeout_keep_alive`: an idle kept-alive connection closes after this many seconds.
    - `h11_max_incomplete_event_size`: with the h11 parser, a request line plus headers larger
      than this is refused (400) before it is read whole; set just above the header limit so
      that the app's own 431 speaks first. The httptools parser (uvicorn's choice when it is
      installed) has no such cap, and uvicorn has no slow-header timeout at all: a reverse
      proxy in front provides both in production.
    - `limit_concurrency`: off unless set; it counts idle and slow connections too, so a crowd
      of slow clients would turn it into 503s for everyone.
    - `proxy_headers`: off. uvicorn otherwise believes `X-Forwarded-For`/`-Proto` from
      127.0.0.1 (its default `forwarded_allow_ips`, or `$FORWARDED_ALLOW_IPS`) before the app
      sees the request; the app believes them only from IB_BRIDGE_TRUSTED_PROXIES
      (forwarded.TrustedProxies).
    - `server_header`: off; proxied answers carry no `Server`, and the bridge's own don't
      advertise uvicorn. The `Date` header stays uvicorn's (IB's is dropped by the proxy).
    """
    return {
        "timeout_keep_alive": settings.server_keep_alive_timeout,
        "h11_max_incomplete_event_size": settings.max_header_bytes + 8 * 1024,
        "limit_concurrency": settings.server_limit_concurrency,
        "server_header": False,
        "proxy_headers": False,
    }


def run_serve(host: str, port: int, workers: int) -> int:
    settings = Settings.from_env()
    settings.check()  # refuse before any worker starts, with the reason
    with contextlib.ExitStack() as cleanup:
        if settings.metrics != "off":
            # Before the workers start (they inherit the variable) and before the app makes
            # its metrics (metrics._pick_value_class).
            cleanup.enter_context(metrics_directory())
        if (listener := settings.metrics_listener) is not None:
            cleanup.enter_context(metrics_listener(settings, *listener))
        uvicorn.run(
            "ib_oauth_bridge.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            **server_limits(settings),
        )
    return 0


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """prometheus-client's multiprocess directory for this run, so that a scrape sums every
    worker: `PROMETHEUS_MULTIPROC_DIR` when the operator set it (its metric files from an
    earlier run removed), else a private temporary directory removed at exit."""
    given = os.environ.get(MULTIPROC_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="ib-bridge-metrics-"))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield directory
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


@contextlib.contextmanager
def metrics_listener(settings: Settings, host: str, port: int) -> Iterator[None]:
    """`/metrics` on a listener of its own, in a thread of this (the supervising) process."""
    from .metrics import MetricsListener

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(
            f"IB_BRIDGE_METRICS: cannot listen on {host}:{port} ({exc.strerror})"
        ) from None
    app = MetricsListener(settings.metrics_token, lambda: open_store(settings.effective_store_url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", server_header=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="metrics", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def command_settings(data_dir: Path | None) -> Settings:
    """The settings a maintenance command works on: the dev stack's in `data_dir`, or the
    IB_BRIDGE_* environment (as `serve` reads it)."""
    if data_dir is None:
        return Settings.from_env()
    if not (data_dir / devsecrets.FILE_NAME).exists():
        raise SettingsError(f"{data_dir} holds no dev stack (no {devsecrets.FILE_NAME})")
    return dev_settings("127.0.0.1", 8000, EmulatorConfig(), data_dir)


def run_rotation(action: str, settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(settings.log_format, "INFO")
    if action == "rotate-signing":
        rotation = rotate_signing(
            settings,
            now=time.time(),
            publish_ahead=args.publish_ahead,
            retire_now=args.retire_now,
        )
    else:
        rotation = rotate_encryption(settings)
    for line in describe(rotation):
        print(line)
    if rotation.applied:
        audit_rotation(settings, rotation)
    return 0


def run_reseal(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level)
    if not settings.encryption_key:
        raise SettingsError("IB_BRIDGE_ENCRYPTION_KEY is not set")
    source = EncryptionKeySource(settings.encryption_key, settings.previous_encryption_keys)
    cipher = source.cipher()

    async def reseal() -> dict[SealedKind, ResealCount]:
        store = open_store(settings.effective_store_url)
        try:
            return await reseal_store(store, cipher)
        finally:
            await store.close()

    counts = anyio.run(reseal)
    print(f"current encryption key: {cipher.key_id}")
    for kind, count in counts.items():
        print(
            f"{kind.value}: {count.resealed} re-sealed, {count.current} already current, "
            f"{count.changed} rewritten meanwhile, {count.unreadable} no key opens, "
            f"{count.bound_to_browser} left to expire (bound to a login in progress)"
        )
    unreadable = sum(c.unreadable for c in counts.values())
    in_logins = sum(c.bound_to_browser for c in counts.values())
    if unreadable:
        print(f"{unreadable} values no key opens: their sign-ins end when next used")
    if in_logins:
        print(
            f"{in_logins} values belong to logins (bound to the browser's login id, which the "
            f"store does not hold): keep the previous key {settings.login_ttl} seconds more, "
            "until they have expired"
        )
    if not unreadable and not in_logins:
        print("nothing left under a previous key: it can be removed")
    return 0


def print_keys() -> int:
    signing_key = json.dumps(generate_signing_key().as_dict(private=True))
    encryption_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    print(f"IB_BRIDGE_SIGNING_KEY='{signing_key}'")
    print(f"IB_BRIDGE_ENCRYPTION_KEY={encryption_key}")
    print(f"IB_BRIDGE_COOKIE_SECRET={secrets.token_urlsafe(32)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every setting of the bridge, read once from environment variables prefixed `IB_BRIDGE_`.

`Settings.from_env()` parses and `Settings.check()` refuses unsafe production configurations
with a message naming the variable to set. Each field's description is in settings_docs.py,
from which the docs site generates its settings reference.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import limits

PREFIX = "IB_BRIDGE_"


class SettingsError(ValueError):
    """A configuration the bridge refuses to run with. The message says what to set."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A pre-registered OAuth client (from IB_BRIDGE_CLIENTS)."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str | None = None  # None: a public client (PKCE only)
    token_endpoint_auth_method: str = "none"  # noqa: S105 - a method name, not a secret
    name: str | None = None
    # A resource server (an MCP server, say) that may ask /introspect about any token the
    # bridge issued; every confidential client may always ask about its own.
    introspect: bool = False
    # A resource server that may exchange (RFC 8693) a user's access token for its `resource`
    # (its own URL, the `aud` of the tokens it accepts) for a proxy token naming it in `act`.
    token_exchange: bool = False
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    issuer: str = "http://127.0.0.1:8000"
    dev_mode: bool = False
    data_dir: Path = Path(".bridge-data")
    database: Path | None = None  # default: data_dir / "bridge.db"
    # Where the store lives, as a URL (see store.open_store); default: the SQLite file above.
    store_url: str | None = None
    # fnmatch patterns for IB platform hosts users may type, comma-separated in the env.
    platform_hosts: tuple[str, ...] = ("*.intelligencebank.com",)
    # Dev mode only: base URLs (scheme://host:port) of the emulator, allowed over http and
    # on loopback, both for the platform and the API host it reports.
    dev_ib_urls: tuple[str, ...] = ()
    # Dev mode only: a PEM file of extra CA certificates trusted when fetching client ID
    # metadata documents (tests serve https documents on loopback with their own CA).
    dev_ca_file: Path | None = None
    # Signing key: a private JWK (JSON) or a path to a file holding one.
    signing_key: str | None = None
    # Keys that verify but no longer sign: inline JSON (a JWK or a JWK Set), or paths of files
    # holding one; each key may carry `retire_after` (see oauth/keys.py, "Key rotation").
    previous_signing_keys: tuple[str, ...] = ()
    # 32-byte AEAD key for the IB sid, base64url; or a path to a file holding it.
    encryption_key: str | None = None
    # Keys that only decrypt (what they sealed is re-sealed with the current key): base64url
    # keys or paths of files holding keys, one per line.
    previous_encryption_keys: tuple[str, ...] = ()
    # Secret for the login cookie's signature (itsdangerous).
    cookie_secret: str | None = None
    access_token_ttl: int = 3600
    code_ttl: int = 60
    login_ttl: int = 900  # how long a user has to finish the login page
    ib_login_token_ttl: int = 600  # how long IB's login token is assumed to live
    ib_poll_interval: float = 1.0  # at most one IB info poll per transaction per interval
    refresh_idle_timeout: int = 7 * 24 * 3600  # a grant unused this long ends
    max_refreshes: int = 10_000  # a grant refreshed this often ends
    # A client retrying the refresh it just made gets the same answer again for this long.
    refresh_grace_seconds: int = 30
    upstream_timeout: float = 30.0
    upstream_connect_timeout: float = 10.0
    upstream_max_connections: int = 200  # the proxy's connections to IB, per worker
    # Fairness at the proxy (per worker): concurrent calls one grant may have in flight, how
    # long a request body may pause between chunks, how long a client may stop reading an
    # answer, and an optional cap on upload size (0: none; IB files can be gigabytes).
    proxy_max_concurrent_per_grant: int = 8
    proxy_body_idle_timeout: float = 15.0
    proxy_send_timeout: float = 30.0
    proxy_max_upload_bytes: int = 0
    # Request headers, for every endpoint (431 beyond them): per value, in all, and how many.
    max_header_value_bytes: int = 8 * 1024
    max_header_bytes: int = 64 * 1024
    max_header_count: int = 100
    # `serve`/`dev`: uvicorn's idle keep-alive timeout, and its connection cap (503 beyond it).
    server_keep_alive_timeout: int = 5
    server_limit_concurrency: int | None = None
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-* / Forwarded headers are believed
    # (forwarded.TrustedProxies); none by default: the connection's peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    max_form_bytes: int = 64 * 1024
    cors_origins: tuple[str, ...] = ()
    clients: tuple[ClientConfig, ...] = ()
    allowed_resources: tuple[str, ...] = ()  # RFC 8707 resource indicators tokens may target
    # Exact callbacks added to the well-known public client's (beyond the known MCP hosts').
    public_client_redirect_uris: tuple[str, ...] = ()
    # The admin page (/admin): IB user ids or emails of its operators; empty: no admin page.
    admins: tuple[str, ...] = ()
    log_format: str = "json"  # "json" (one object per line) or "text"
    log_level: str = "INFO"
    # RFC 7591 dynamic client registration: open unless an initial access token is set.
    registration_access_token: str | None = None
    registration_rate_limit: str = "10/minute"  # per client IP, `limits` notation
    registration_unused_ttl: int = 24 * 3600  # a registration never used to sign in expires
    # Abuse limits (`limits` notation; per worker process, see ratelimit.py).
    authorize_rate_limit: str = "30/minute"  # GET /authorize, per client address
    login_rate_limit: str = "600/minute"  # the login page's endpoints, per client address
    login_poll_rate_limit: str = "120/minute"  # /authorize/status and /continue, per login
    token_rate_limit: str = "600/minute"  # noqa: S105 - /token, /revoke, /introspect per address
    client_rate_limit: str = "3000/minute"  # ... and per authenticated confidential client
    proxy_rate_limit: str = "50/second"  # the proxy, per grant
    login_max_pending_per_address: int = 20  # unfinished login transactions per client address
    login_max_submissions: int = 5  # platform submissions (IB logins started) per login
    login_max_ib_calls: int = 1000  # calls to IB's login API per login: submissions and polls
    purge_interval: float = 60.0  # seconds between purges of expired records (jittered)
    # The audit log and its fraud rules (docs/configuration.md, "Audit log and fraud rules").
    audit_log: str = "stdout"  # "stdout", "stderr", a file path, or "off"
    fraud_exchange_failures: int = 10  # failed code exchanges per address/client (0: off) ...
    fraud_exchange_failure_window: int = 300  # ... within this many seconds: then blocked
    fraud_exchange_block_seconds: int = 900  # ... for this long
    fraud_grant_addresses: int = 5  # addresses one grant may be used from (0: off) ...
    fraud_grant_address_window: int = 600  # ... within this many seconds
    fraud_grant_addresses_revoke: bool = False  # beyond it: revoke, not only alert
    fraud_users_per_address: int = 20  # IB users signing in through one address (0: off) ...
    fraud_users_per_address_window: int = 3600  # ... within this many seconds
    # Prometheus metrics (metrics.py, docs/operations.md "Metrics"): off, port:[host:]n, bearer.
    metrics: str = "off"
    metrics_token: str | None = None  # the Bearer token for /metrics (bearer mode)

    @property
    def database_path(self) -> Path:
        return self.database or self.data_dir / "bridge.db"

    @property
    def effective_store_url(self) -> str:
        """`store_url`, or else the SQLite file at `database_path`.

        Spelled so that a relative path stays relative (to the working directory, as the
        bare path always was): `sqlite:///` + a relative path would name it from the root.
        """
        if self.store_url is not None:
            return self.store_url
        path = self.database_path
        return f"sqlite://{path}" if path.is_absolute() else f"sqlite:{path}"

    @property
    def proxy_resource(self) -> str:
        """RFC 9728 resource identifier of the proxy: the default `aud` of access tokens."""
        return f"{self.issuer}/proxy"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name)
            return value.strip() if value is not None and value.strip() else None

        def get_int(name: str, default: int) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None

        def get_float(name: str, default: float) -> float:
            raw = get(name)
            if raw is None:
                return default
            try:
                return float(raw)
            except ValueError:
                raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from None

        def get_list(name: str) -> tuple[str, ...] | None:
            raw = get(name)
            if raw is None:
                return None
            return tuple(part.strip() for part in raw.split(",") if part.strip())

        defaults = cls()
        values: dict[str, object] = {
            "issuer": (get("ISSUER") or defaults.issuer).rstrip("/"),
            "dev_mode": (get("DEV") or "").lower() in {"1", "true", "yes", "on"},
            "data_dir": Path(get("DATA_DIR") or defaults.data_dir),
            "database": Path(db) if (db := get("DATABASE")) else None,
            "store_url": get("STORE_URL"),
            "platform_hosts": get_list("PLATFORM_HOSTS") or defaults.platform_hosts,
            "dev_ib_urls": get_list("DEV_IB_URLS") or (),
            "dev_ca_file": Path(ca) if (ca := get("DEV_CA_FILE")) else None,
            "signing_key": get("SIGNING_KEY"),
            # Inline JSON is one value (its commas are not separators); paths are a list.
            "previous_signing_keys": (raw,)
            if (raw := get("PREVIOUS_SIGNING_KEYS") or "").startswith("{")
            else get_list("PREVIOUS_SIGNING_KEYS") or (),
            "encryption_key": get("ENCRYPTION_KEY"),
            "previous_encryption_keys": get_list("PREVIOUS_ENCRYPTION_KEYS") or (),
            "cookie_secret": get("COOKIE_SECRET"),
            "access_token_ttl": get_int("ACCESS_TOKEN_TTL", defaults.access_token_ttl),
            "code_ttl": get_int("CODE_TTL", defaults.code_ttl),
            "login_ttl": get_int("LOGIN_TTL", defaults.login_ttl),
            "refresh_idle_timeout": get_int("REFRESH_IDLE_TIMEOUT", defaults.refresh_idle_timeout),
            "max_refreshes": get_int("MAX_REFRESHES", defaults.max_refreshes),
            "refresh_grace_seconds": get_int(
                "REFRESH_GRACE_SECONDS", defaults.refresh_grace_seconds
            ),
            "upstream_timeout": get_float("UPSTREAM_TIMEOUT", defaults.upstream_timeout),
            "upstream_max_connections": get_int(
                "UPSTREAM_MAX_CONNECTIONS", defaults.upstream_max_connections
            ),
            "proxy_max_concurrent_per_grant": get_int(
                "PROXY_MAX_CONCURRENT_PER_GRANT", defaults.proxy_max_concurrent_per_grant
            ),
            "proxy_body_idle_timeout": get_float(
                "PROXY_BODY_IDLE_TIMEOUT", defaults.proxy_body_idle_timeout
            ),
            "proxy_send_timeout": get_float("PROXY_SEND_TIMEOUT", defaults.proxy_send_timeout),
            "proxy_max_upload_bytes": get_int(
                "PROXY_MAX_UPLOAD_BYTES", defaults.proxy_max_upload_bytes
            ),
            "max_header_value_bytes": get_int(
                "MAX_HEADER_VALUE_BYTES", defaults.max_header_value_bytes
            ),
            "max_header_bytes": get_int("MAX_HEADER_BYTES", defaults.max_header_bytes),
            "max_header_count": get_int("MAX_HEADER_COUNT", defaults.max_header_count),
            "server_keep_alive_timeout": get_int(
                "SERVER_KEEP_ALIVE_TIMEOUT", defaults.server_keep_alive_timeout
            ),
            "server_limit_concurrency": get_int("SERVER_LIMIT_CONCURRENCY", 0) or None,
            "trusted_proxies": get_list("TRUSTED_PROXIES") or (),
            "cors_origins": get_list("CORS_ORIGINS") or (),
            "clients": parse_clients(get("CLIENTS")),
            "allowed_resources": get_list("ALLOWED_RESOURCES") or (),
            "public_client_redirect_uris": get_list("PUBLIC_CLIENT_REDIRECT_URIS") or (),
            "admins": get_list("ADMINS") or (),
            "log_format": (get("LOG_FORMAT") or defaults.log_format).lower(),
            "log_level": (get("LOG_LEVEL") or defaults.log_level).upper(),
            "registration_access_token": get("REGISTRATION_ACCESS_TOKEN"),
            "registration_rate_limit": get("REGISTRATION_RATE_LIMIT")
            or defaults.registration_rate_limit,
            "registration_unused_ttl": get_int(
                "REGISTRATION_UNUSED_TTL", defaults.registration_unused_ttl
            ),
            **{
                name: get(name.upper()) or getattr(defaults, name)
                for name in RATE_LIMIT_SETTINGS
                if name != "registration_rate_limit"
            },
            **{name: get_int(name.upper(), getattr(defaults, name)) for name in COUNT_SETTINGS},
            "purge_interval": get_float("PURGE_INTERVAL", defaults.purge_interval),
            "audit_log": get("AUDIT_LOG") or defaults.audit_log,
            **{name: get_int(name.upper(), getattr(defaults, name)) for name in FRAUD_SETTINGS},
            "fraud_grant_addresses_revoke": (get("FRAUD_GRANT_ADDRESSES_REVOKE") or "").lower()
            in {"1", "true", "yes", "on"},
            "metrics": (get("METRICS") or defaults.metrics).lower(),
            "metrics_token": get("METRICS_TOKEN"),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse configurations that are unsafe outside dev mode, saying exactly what to set."""
        if self.log_format not in {"json", "text"}:
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be 'json' or 'text'")
        issuer = urlsplit(self.issuer)
        if not issuer.scheme or not issuer.netloc or issuer.query or issuer.fragment:
            raise SettingsError(f"{PREFIX}ISSUER must be an absolute URL, got {self.issuer!r}")
        for name in RATE_LIMIT_SETTINGS:
            value = getattr(self, name)
            try:
                limits.parse(value)
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}{name.upper()} must read like '10/minute' or '100/hour', "
                    f"got {value!r}"
                ) from None
        for name in COUNT_SETTINGS:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}{name.upper()} must be a positive number")
        if not self.purge_interval > 0:
            raise SettingsError(f"{PREFIX}PURGE_INTERVAL must be a positive number of seconds")
        if self.registration_unused_ttl <= 0:
            raise SettingsError(f"{PREFIX}REGISTRATION_UNUSED_TTL must be a positive number")
        self._check_limits()
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR "
                    "network (like 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        for name in FRAUD_SETTINGS:
            value = getattr(self, name)
            if value < 0 or (value == 0 and name.endswith(("_window", "_seconds"))):
                raise SettingsError(f"{PREFIX}{name.upper()} must be positive (a count: 0 is off)")
        if not self.audit_log:
            raise SettingsError(f"{PREFIX}AUDIT_LOG must be stdout, stderr, off or a file path")
        self._check_metrics()
        if not 0 <= self.refresh_grace_seconds <= 300:
            raise SettingsError(f"{PREFIX}REFRESH_GRACE_SECONDS must be from 0 to 300")
        for client in self.clients:
            if client.resource == self.proxy_resource:
                raise SettingsError(
                    f"{PREFIX}CLIENTS: the resource of {client.client_id!r} is the proxy's own; "
                    "name the resource server's URL"
                )
        if self.dev_ca_file is not None and not self.dev_ca_file.is_file():
            raise SettingsError(f"{PREFIX}DEV_CA_FILE {str(self.dev_ca_file)!r} is not a file")
        for uri in self.public_client_redirect_uris:  # in dev mode too: a typo is never wanted
            problem = exact_redirect_uri_problem(uri)
            if problem:
                raise SettingsError(f"{PREFIX}PUBLIC_CLIENT_REDIRECT_URIS entry {uri!r} {problem}")
        if self.dev_mode:
            return
        problems: list[str] = []
        if issuer.scheme != "https":
            problems.append(
                f"{PREFIX}ISSUER must be an https:// URL outside dev mode (got {self.issuer!r})"
            )
        if not self.signing_key:
            problems.append(
                f"{PREFIX}SIGNING_KEY is missing: set it to a private JWK (JSON) or the path of "
                "a file holding one (`ib-oauth-bridge keys` prints a new one)"
            )
        if not self.encryption_key:
            problems.append(
                f"{PREFIX}ENCRYPTION_KEY is missing: set it to 32 random bytes, base64url "
                "encoded, or the path of a file holding them (`ib-oauth-bridge keys`)"
            )
        if not self.cookie_secret:
            problems.append(f"{PREFIX}COOKIE_SECRET is missing: set it to a long random string")
        for pattern in self.platform_hosts:
            if not _is_limited_host_pattern(pattern):
                problems.append(
                    f"{PREFIX}PLATFORM_HOSTS entry {pattern!r} does not limit hosts to a "
                    "domain: use a pattern such as '*.intelligencebank.com'"
                )
        if self.dev_ib_urls:
            problems.append(f"{PREFIX}DEV_IB_URLS is for dev mode only: unset it")
        if self.dev_ca_file is not None:
            problems.append(f"{PREFIX}DEV_CA_FILE is for dev mode only: unset it")
        if problems:
            raise SettingsError("refusing to start:\n  - " + "\n  - ".join(problems))

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """The separate metrics listener's (host, port) when `metrics` is `port:[host:]n`
        (loopback unless a host is named; an IPv6 host in brackets), else None."""
        if not self.metrics.startswith("port:"):
            return None
        host, sep, port = self.metrics.removeprefix("port:").rpartition(":")
        host = host.removeprefix("[").removesuffix("]") if sep else "127.0.0.1"
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(
                f"{PREFIX}METRICS must be off, bearer, port:<n> or port:<host>:<n>, "
                f"got {self.metrics!r}"
            )
        return host, int(port)

    def _check_metrics(self) -> None:
        if self.metrics not in {"off", "bearer"} and self.metrics_listener is None:
            raise SettingsError(
                f"{PREFIX}METRICS must be off, bearer, port:<n> or port:<host>:<n>, "
                f"got {self.metrics!r}"
            )
        token = self.metrics_token
        if self.metrics == "bearer" and not token:
            raise SettingsError(
                f"{PREFIX}METRICS=bearer needs {PREFIX}METRICS_TOKEN (a long random string)"
            )
        if token is not None and len(token) < 16:
            raise SettingsError(f"{PREFIX}METRICS_TOKEN must be at least 16 characters")

    def _check_limits(self) -> None:
        """The proxy's fairness and the request limits: positive, and one grant's share of the
        upstream pool strictly below the pool, so that one grant can never take all of it."""
        positive = {
            "UPSTREAM_MAX_CONNECTIONS": self.upstream_max_connections,
            "PROXY_MAX_CONCURRENT_PER_GRANT": self.proxy_max_concurrent_per_grant,
            "PROXY_BODY_IDLE_TIMEOUT": self.proxy_body_idle_timeout,
            "PROXY_SEND_TIMEOUT": self.proxy_send_timeout,
            "MAX_HEADER_VALUE_BYTES": self.max_header_value_bytes,
            "MAX_HEADER_BYTES": self.max_header_bytes,
            "MAX_HEADER_COUNT": self.max_header_count,
            "SERVER_KEEP_ALIVE_TIMEOUT": self.server_keep_alive_timeout,
        }
        for name, value in positive.items():
            if value <= 0:
                raise SettingsError(f"{PREFIX}{name} must be a positive number, got {value}")
        if self.proxy_max_upload_bytes < 0:
            raise SettingsError(f"{PREFIX}PROXY_MAX_UPLOAD_BYTES must be 0 (no cap) or more")
        if self.proxy_max_concurrent_per_grant >= self.upstream_max_connections:
            raise SettingsError(
                f"{PREFIX}PROXY_MAX_CONCURRENT_PER_GRANT ({self.proxy_max_concurrent_per_grant}) "
                f"must be below {PREFIX}UPSTREAM_MAX_CONNECTIONS "
                f"({self.upstream_max_connections}): one grant must never hold the whole pool"
            )


RATE_LIMIT_SETTINGS = (
    "registration_rate_limit",
    "authorize_rate_limit",
    "login_rate_limit",
    "login_poll_rate_limit",
    "token_rate_limit",
    "client_rate_limit",
    "proxy_rate_limit",
)
COUNT_SETTINGS = ("login_max_pending_per_address", "login_max_submissions", "login_max_ib_calls")
FRAUD_SETTINGS = (
    "fraud_exchange_failures",
    "fraud_exchange_failure_window",
    "fraud_exchange_block_seconds",
    "fraud_grant_addresses",
    "fraud_grant_address_window",
    "fraud_users_per_address",
    "fraud_users_per_address_window",
)

_PRIVATE_USE_SCHEME = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+")


def exact_redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be an exact redirect URI of the public client, or None when it can:
    https with a host, or a reverse-domain private-use scheme (RFC 8252 7.1, such as
    `com.example.app:/callback`); never a fragment or userinfo (RFC 6749 3.1.2)."""
    if uri != uri.strip() or any(ch.isspace() for ch in uri):
        return "contains white space"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.fragment or "#" in uri:
        return "must not have a fragment"
    if parts.username is not None or parts.password is not None:
        return "must not carry user information"
    if parts.scheme == "https":
        return None if parts.hostname else "needs a host"
    if _PRIVATE_USE_SCHEME.fullmatch(parts.scheme):
        return None
    return (
        "must be an https:// URL or use a reverse-domain private-use scheme "
        "(such as com.example.app:/callback); loopback http callbacks are always accepted"
    )


def _is_limited_host_pattern(pattern: str) -> bool:
    """A pattern limits hosts when its wildcard, if any, sits under a fixed registrable domain."""
    if not pattern or any(ch in pattern for ch in "/:[]?"):
        return False
    labels = pattern.lower().split(".")
    fixed = [label for label in labels if "*" not in label]
    # '*.intelligencebank.com' has two fixed labels after its wildcard; '*', '*.com' don't.
    return "*" not in "".join(labels[-2:]) and len(fixed) >= 2


def parse_clients(raw: str | None) -> tuple[ClientConfig, ...]:
    """IB_BRIDGE_CLIENTS: a JSON list of {client_id, redirect_uris, client_secret?, ...}."""
    if raw is None:
        return ()
    if not raw.lstrip().startswith("["):
        path = Path(raw)
        if not path.is_file():
            raise SettingsError(f"{PREFIX}CLIENTS must be a JSON list or the path of a JSON file")
        raw = path.read_text(encoding="utf-8")
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{PREFIX}CLIENTS is not valid JSON: {exc.msg}") from None
    if not isinstance(items, list):
        raise SettingsError(f"{PREFIX}CLIENTS must be a JSON list of client objects")
    clients = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("client_id"), str):
            raise SettingsError(f"{PREFIX}CLIENTS[{index}] needs a string client_id")
        # A pure resource server (it only introspects or exchanges) signs nobody in: no
        # redirect URIs.
        server_only = item.get("introspect") is True or item.get("token_exchange") is True
        uris = item.get("redirect_uris", [] if server_only else None)
        resource_server_only = server_only and uris == []
        if (
            not isinstance(uris, list)
            or not all(isinstance(u, str) for u in uris)
            or (not uris and not resource_server_only)
        ):
            raise SettingsError(f"{PREFIX}CLIENTS[{index}] needs a non-empty redirect_uris list")
        secret = item.get("client_secret")
        method = item.get("token_endpoint_auth_method") or (
            "client_secret_basic" if secret else "none"
        )
        if method not in {"none", "client_secret_basic", "client_secret_post"}:
            raise SettingsError(f"{PREFIX}CLIENTS[{index}] has unknown auth method {method!r}")
        if (method == "none") != (secret is None):
            raise SettingsError(
                f"{PREFIX}CLIENTS[{index}]: a client_secret goes with client_secret_basic or "
                "client_secret_post, and a public client ('none') has none"
            )
        introspect = item.get("introspect", False)
        if not isinstance(introspect, bool) or (introspect and secret is None):
            raise SettingsError(
                f"{PREFIX}CLIENTS[{index}]: 'introspect' is true or false, and only a "
                "confidential client (with a client_secret) may introspect"
            )
        token_exchange = item.get("token_exchange", False)
        resource = item.get("resource")
        if not isinstance(token_exchange, bool) or (token_exchange and secret is None):
            raise SettingsError(
                f"{PREFIX}CLIENTS[{index}]: 'token_exchange' is true or false, and only a "
                "confidential client (with a client_secret) may exchange tokens"
            )
        if resource is not None and not _is_resource_url(resource):
            raise SettingsError(
                f"{PREFIX}CLIENTS[{index}]: 'resource' must be an absolute http(s) URL "
                "without a fragment (the resource server's own URL)"
            )
        if token_exchange and resource is None:
            raise SettingsError(
                f"{PREFIX}CLIENTS[{index}]: 'token_exchange' needs 'resource', the URL of the "
                "resource server whose tokens this client exchanges"
            )
        clients.append(
            ClientConfig(
                client_id=item["client_id"],
                redirect_uris=tuple(uris),
                client_secret=secret,
                token_endpoint_auth_method=method,
                name=item.get("name"),
                introspect=introspect,
                token_exchange=token_exchange,
                resource=resource,
            )
        )
    return tuple(clients)


def _is_resource_url(value: object) -> bool:
    """An RFC 8707 resource indicator: an absolute http(s) URI with no fragment."""
    if not isinstance(value, str) or value != value.strip() or "#" in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)

"""The description of every setting, keyed by the `Settings` field it documents.

One place for the words: docs/hooks/generate.py joins them with each field's environment
variable, type and default (read from `Settings` itself) into the site's settings reference, so
the table cannot drift from the code. tests/unit/test_settings_docs.py fails when a field has no
description here. A new setting: add its field to `Settings` and a line here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from .settings import PREFIX, Settings

SETTING_DOCS: dict[str, str] = {
    "issuer": (
        "The bridge's public base URL; the `iss` of every token and authorization "
        "response. Must be `https://` outside dev mode. Requests whose `Host` is not "
        "its host get a 400 (dev mode also accepts `localhost`, `127.0.0.1`, `[::1]`; "
        "`/healthz`, `/readyz` and `/metrics` accept any), and every absolute URL the bridge emits "
        "is built from it. When it is https (outside dev mode) every answer carries "
        "`Strict-Transport-Security: max-age=31536000`, and the login cookie is "
        "`__Host-ib_bridge_login` with `Path=/`."
    ),
    "dev_mode": (
        "Dev mode (`1`): http allowed for the emulator's own hosts, the playground at "
        "`/`. Set by `ib-oauth-bridge dev`."
    ),
    "data_dir": (
        "Where the SQLite store lives (and, in dev mode, the generated secrets: key "
        "files `signing-key.jwk`, `previous-signing-keys.jwks`, `encryption.key`, "
        "`previous-encryption.keys`, and `dev-secrets.json` with the cookie secret)."
    ),
    "database": ("The SQLite file (used when `IB_BRIDGE_STORE_URL` is unset)."),
    "store_url": (
        "Which store backend to use: `sqlite:///absolute/path.db`, "
        "`sqlite:relative/path.db` or a bare path (one host), or "
        "`redis://[user:password@]host[:port][/db]` / `rediss://...` (TLS) for bridges on "
        "several hosts; see [Redis](#redis). A Redis store that cannot be reached stops the "
        "start-up with a message naming the server (never the password)."
    ),
    "platform_hosts": (
        "Comma-separated host patterns (fnmatch) that users' platform URLs and IB's "
        "reported API URLs must match. A pattern must fix a domain (`*` or `*.com` is "
        "refused)."
    ),
    "dev_ib_urls": (
        "Dev mode only: comma-separated origins of the IB emulator (platform and API "
        "host), allowed over http and on loopback. Exactly these origins (host and "
        "port) may resolve to internal addresses; every other IB host must resolve "
        "only to public ones, checked once per connection and connected to at the "
        "checked address (no DNS rebinding)."
    ),
    "dev_ca_file": (
        "Dev mode only: a PEM file of extra CA certificates trusted when fetching "
        "Client ID Metadata Documents, so tests and examples can serve an https "
        "document on loopback (e.g. with a `trustme` CA). Refused outside dev mode."
    ),
    "signing_key": (
        "Private EC P-256 JWK (JSON) that signs access and ID tokens (ES256), or the "
        "path of a file holding it (then `keys rotate-signing` rotates it in place, "
        'and running servers re-read it). It may carry `"sign_after"` (Unix seconds): '
        "published at once, signing from then on. `ib-oauth-bridge keys` prints one. "
        "See [Key rotation](#key-rotation)."
    ),
    "previous_signing_keys": (
        "Earlier signing keys: still published in `/jwks.json` and accepted, never "
        'used to sign. Inline JSON (one JWK, or a JWK Set `{"keys": [...]}`), or '
        "comma-separated paths of files holding one (a missing file counts as none, as "
        'before the first rotation). Each key may carry `"retire_after"` (Unix '
        "seconds): from then on it is neither published nor accepted; a key without it "
        "stays until removed by hand."
    ),
    "encryption_key": (
        "32 random bytes, base64url, or the path of a file holding them: the "
        "AES-256-GCM key of the stored IB sids (and of the other sealed values: a "
        "refresh retry's answer, a login's IB token and redirect). Not kept in the "
        "store. See [Key rotation](#key-rotation)."
    ),
    "previous_encryption_keys": (
        "Earlier encryption keys, which only decrypt: comma-separated base64url keys "
        "or paths of files holding keys, one per line (`#` comments allowed; a missing "
        "file counts as none). A sid opened with one is sealed again with the current "
        "key on first use; `ib-oauth-bridge store reseal` does the rest."
    ),
    "cookie_secret": ("Signs the login cookie and derives the login page's CSRF tokens."),
    "access_token_ttl": (
        "Access-token lifetime in seconds, always cut short by the end of the IB session."
    ),
    "code_ttl": ("Authorization-code lifetime in seconds."),
    "login_ttl": ("How long a user has to finish the login page, in seconds."),
    "ib_login_token_ttl": (
        "Seconds IB's login token is assumed to live (IB does not say); a login whose "
        "token is older is treated as expired."
    ),
    "ib_poll_interval": (
        "Seconds between two polls of IB's login API for one login transaction, at most."
    ),
    "refresh_idle_timeout": (
        "A grant not used (no refresh, no token exchange) for this many seconds ends."
    ),
    "max_refreshes": ("A grant refreshed this many times ends; the user signs in again."),
    "refresh_grace_seconds": (
        "For this many seconds after a refresh, the same client presenting the refresh "
        "token it just rotated gets the same answer again (an idempotent retry after a "
        "lost response) instead of having its grant revoked; any other reuse still "
        "revokes. 0 turns the grace off; at most 300."
    ),
    "upstream_timeout": (
        "Seconds to wait for IB (per read; connecting has 10 s). A slower IB answer "
        "becomes 504 at the proxy."
    ),
    "upstream_connect_timeout": ("Seconds to wait for a connection to IB at the proxy."),
    "upstream_max_connections": (
        "Connections each worker keeps open to IB at most (kept alive and reused per "
        "host); calls beyond it wait for a free one."
    ),
    "proxy_max_concurrent_per_grant": (
        "Proxied calls one grant (one sign-in) may have in flight in each worker; "
        "beyond it: 429 `too_many_requests` with `Retry-After: 1`. Must be below "
        "`IB_BRIDGE_UPSTREAM_MAX_CONNECTIONS` (checked at start), so one grant never "
        "holds the whole pool. See [Limits](#limits)."
    ),
    "proxy_body_idle_timeout": (
        "Seconds a request body sent through the proxy may pause between two pieces. "
        "Beyond it: 408 `request_timeout` (if no answer has started), and the call to "
        "IB is aborted and its connection closed."
    ),
    "proxy_send_timeout": (
        "Seconds the bridge waits for a caller to take the next piece of a proxied "
        "answer. A caller that stops reading is dropped (its answer ends truncated) "
        "and IB's answer is closed."
    ),
    "proxy_max_upload_bytes": (
        "Largest request body the proxy forwards, in bytes; larger ones get 413, on "
        "their `Content-Length` at once or as they stream. Off by default: IB files "
        "can be gigabytes."
    ),
    "max_header_value_bytes": (
        "Longest request header value any endpoint accepts; beyond it: 431, nothing forwarded."
    ),
    "max_header_bytes": ("Most bytes of request header names and values in all; beyond it: 431."),
    "max_header_count": ("Most request header fields; beyond it: 431."),
    "server_keep_alive_timeout": (
        "`serve`/`dev`: seconds uvicorn keeps an idle kept-alive connection open."
    ),
    "server_limit_concurrency": (
        "`serve`/`dev`: connections plus tasks per worker beyond which uvicorn answers "
        "503. Off by default, see [Limits](#limits)."
    ),
    "max_form_bytes": (
        "Largest form body `/token`, `/revoke`, `/introspect` and the login page's "
        "forms read (413 beyond it)."
    ),
    "trusted_proxies": (
        "Comma-separated IP addresses or CIDR networks of the reverse proxies in front of "
        "the bridge (`10.0.0.5, 10.1.0.0/16`). Only a connection from one of them has its "
        "`X-Forwarded-For` (the rightmost address that is not a trusted proxy), "
        "`X-Forwarded-Proto`/`-Host` or RFC 7239 `Forwarded` believed: that address is then "
        "the client's for the rate limits, the login's pending cap, the audit log and the "
        "fraud rules. From anyone else these headers are dropped unread. URLs are always "
        "built from `IB_BRIDGE_ISSUER`, and a forwarded Host must still be the issuer's."
    ),
    "cors_origins": (
        "Comma-separated origins of browser apps allowed to call `/token`, "
        "`/register`, `/userinfo`, `/proxy/`, the metadata and `/jwks.json` "
        "cross-origin."
    ),
    "clients": (
        "Pre-registered clients: a JSON list (or the path of a JSON file) of "
        '`{"client_id", "redirect_uris": [...], "client_secret"?, '
        '"token_endpoint_auth_method"?: "client_secret_basic" | "client_secret_post" | '
        '"none", "name"?, "introspect"?: true}`. Each redirect URI must pass the rules '
        "registered clients meet (https with a host, `http` on loopback only, or a "
        "private-use scheme; no fragment, userinfo, relative URI, `javascript:`, "
        "`data:` and the like), or the bridge refuses to start naming the client and "
        "the URI. Redirect URIs match exactly, except that a loopback `http` URI "
        'matches on any port (RFC 8252 section 7.3). `"introspect": true` makes a '
        "confidential client a resource server that may ask `/introspect` about any "
        "token (every confidential client may ask about its own); such a client may "
        'omit `redirect_uris`. `"token_exchange": true` with `"resource"` (the '
        "resource server's own URL, the audience of the tokens it accepts) lets a "
        "confidential client exchange (RFC 8693) a user's access token whose `aud` "
        "holds that URL for a proxy token that names it in `act`; it may also omit "
        "`redirect_uris`, and its `resource` is an allowed RFC 8707 resource."
    ),
    "allowed_resources": (
        "Comma-separated RFC 8707 resource URLs tokens may be asked for, besides the "
        "proxy (`<issuer>/proxy`). In dev mode any loopback URL is allowed too."
    ),
    "public_client_redirect_uris": (
        "Comma-separated exact redirect URIs added to the well-known public client "
        "`mcp-public-client`, beyond its built-in ones (loopback `http` on any port, "
        "and the callbacks of Claude, ChatGPT, VS Code and Cursor). Each must be "
        "`https://` with a host, or use a reverse-domain private-use scheme "
        "(`com.example.app:/callback`); no fragment, no user information. Matched "
        "exactly. A bad entry stops the start-up with a message naming it."
    ),
    "log_format": ("`json` (one object per line) or `text`."),
    "log_level": ("Python log level."),
    "registration_access_token": (
        "The initial access token of RFC 7591 section 3.1: when set, `POST /register` "
        "needs `Authorization: Bearer <this token>` (else 401 `invalid_token`); when "
        "unset anyone may register a client. Give it to the developers you let "
        "register."
    ),
    "registration_rate_limit": (
        "Registrations allowed per client address over a moving window, every request "
        "to `/register` counted, written as the `limits` library reads it "
        "(`10/minute`, `100 per hour`). Beyond it: 429 `rate_limited` with "
        "`Retry-After`. The address is the connection's (or, from a trusted proxy, "
        "the one it forwards: `IB_BRIDGE_TRUSTED_PROXIES`), and each worker process "
        "counts on its own."
    ),
    "registration_unused_ttl": (
        "Seconds a registered client has to complete its first sign-in; after that its "
        "registration is gone. A client that has signed someone in is kept."
    ),
    "authorize_rate_limit": (
        "`GET /authorize` requests per client address (each opens a login "
        "transaction). Beyond it: an HTML error page, 429 with `Retry-After`, and "
        "nothing stored."
    ),
    "login_rate_limit": (
        "Requests to the login page's endpoints (`/authorize/platform`, "
        "`/authorize/status`, `/authorize/continue`, `/authorize/cancel`) per client "
        "address, together. The page polls about once a second, so this is roughly ten "
        "people signing in at once behind one address. Beyond it: 429 `rate_limited` "
        "with `Retry-After` (JSON for the page's script, an HTML page for a plain form "
        "post)."
    ),
    "login_poll_rate_limit": (
        "Status checks (`/authorize/status`, `/authorize/continue`) per login "
        "transaction: twice the page's own pace. Beyond it: 429 with `Retry-After`; "
        "the page waits that long and polls on."
    ),
    "token_rate_limit": (
        "Requests to `/token`, `/revoke` and `/introspect` (together) per client "
        "address. Beyond it: 429 `rate_limited` with `Retry-After`. A resource server "
        "that introspects every request should cache the answers."
    ),
    "client_rate_limit": (
        "Requests to `/token`, `/revoke` and `/introspect` (together) per confidential "
        "client, counted only once the client has authenticated (a wrong secret costs "
        "the real client nothing), from any address. Public clients (such as "
        "`mcp-public-client`, shared by every MCP host) are limited per address only: "
        "their client id is a label anyone may send, so counting it would let anyone "
        "lock all their users out."
    ),
    "proxy_rate_limit": (
        "Requests through the proxy per sign-in (grant). Beyond it: 429 `rate_limited` "
        "with `Retry-After`, and nothing is sent to IB."
    ),
    "login_max_pending_per_address": (
        "Login transactions one client address may have open at once (unfinished and "
        "unexpired). One more `GET /authorize` gets the 429 page (`Retry-After: 60`) "
        "and stores nothing; finishing, cancelling or the expiry "
        "(`IB_BRIDGE_LOGIN_TTL`) of one makes room. Several workers may each let one "
        "more through at the same instant."
    ),
    "login_max_submissions": (
        "Platform URLs one login transaction may submit (each starts an IB login). "
        'Beyond it: 403 `access_denied` ("start again from the app"), no DNS lookup, '
        "no IB call."
    ),
    "login_max_ib_calls": (
        "Calls to IB's login API one login transaction may cause in all: submissions "
        "plus status polls (at most one per second already). Enough for a whole login "
        "window polled every second; beyond it: 403 `access_denied`, and IB is not "
        "asked again."
    ),
    "purge_interval": (
        "Seconds between purges of expired records (login transactions, codes, tokens, "
        "grants, unused registrations) while the bridge runs, besides the one at "
        "start-up. Each wait is jittered between half and one and a half intervals so "
        "that workers drift apart; each purge that removes something logs `expired "
        "records purged` with the count."
    ),
    "admins": (
        "Comma-separated IB user ids or emails of the operators of the admin page "
        "(`/admin`). Empty (the default): there is no admin page (404). When set, the page "
        "signs operators in through the bridge's own OpenID Connect as the internal client "
        "`ib-bridge-admin` (redirect URI `<issuer>/admin/callback`); anyone else who signs "
        'in is refused (403, audited). See Operations, "Admin page".'
    ),
    "audit_log": (
        "Where the audit log goes: `stdout`, `stderr`, a file path (appended to), or "
        "`off`. One JSON object per line on the logger `ib_oauth_bridge.audit`, never "
        "mixed into the main log. See [Audit log and fraud "
        "rules](#audit-log-and-fraud-rules)."
    ),
    "fraud_exchange_failures": (
        "Failed authorization code exchanges (unknown or used code, wrong redirect "
        "URI, PKCE failure) one client address, or one confidential client that "
        "authenticated, may make within the window; one more blocks it at `/token`. "
        "`0` turns the rule off."
    ),
    "fraud_exchange_failure_window": ("Seconds over which failed exchanges are counted."),
    "fraud_exchange_block_seconds": (
        "How long the block lasts: every `/token` request from that address (or naming "
        "that client with a secret) gets 429 `rate_limited` with `Retry-After` until "
        "it ends."
    ),
    "fraud_grant_addresses": (
        "Client addresses one sign-in (grant) may be used from within the window "
        "(proxy calls, code exchange, refreshes, token exchanges); one more raises "
        "`fraud.grant_many_addresses`. `0` turns the rule off."
    ),
    "fraud_grant_address_window": ("Seconds over which a grant's addresses are counted."),
    "fraud_grant_addresses_revoke": (
        "`1`: also end the grant when the rule above fires (the call that crossed it "
        "gets 401 `invalid_token`, a refresh `invalid_grant`). Off by default: users "
        "on mobile networks change address often."
    ),
    "fraud_users_per_address": (
        "Different IB users who may complete a sign-in through one client address "
        "within the window; one more raises `fraud.many_users_one_address` (an alert "
        "only). `0` turns the rule off."
    ),
    "fraud_users_per_address_window": ("Seconds over which those users are counted."),
    "metrics": (
        'Prometheus metrics (see Operations, "Metrics"): `off` (the default: no '
        "`/metrics` anywhere, 404 on the main app); `port:<n>` or `port:<host>:<n>`: "
        "`ib-oauth-bridge serve` serves `/metrics` on a listener of its own, on "
        "127.0.0.1 unless a host is named (summed over every worker process); `bearer`: "
        "`/metrics` on the main app, only to a request carrying "
        "`IB_BRIDGE_METRICS_TOKEN` as a Bearer token (401 otherwise)."
    ),
    "metrics_token": (
        "The Bearer token `/metrics` requires (at least 16 characters; compared in "
        "constant time). Required with `IB_BRIDGE_METRICS=bearer`; with `port:` it is "
        "optional and, when set, required on the metrics listener too."
    ),
}

# Fields whose variable is not PREFIX + the field's name in capitals.
ENV_NAMES: dict[str, str] = {"dev_mode": f"{PREFIX}DEV"}

# Fields `Settings.from_env()` does not read: fixed in code, listed for completeness.
NOT_FROM_ENV = frozenset(
    {"ib_login_token_ttl", "ib_poll_interval", "upstream_connect_timeout", "max_form_bytes"}
)

# Defaults better said in words than as the field's value.
DEFAULT_TEXT: dict[str, str] = {
    "dev_mode": "off",
    "signing_key": "— (required outside dev mode)",
    "encryption_key": "— (required outside dev mode)",
    "cookie_secret": "— (required outside dev mode)",
    "database": "`<data dir>/bridge.db`",
    "store_url": "the SQLite file `IB_BRIDGE_DATABASE`",
    "proxy_max_upload_bytes": "`0` (no cap)",
    "server_limit_concurrency": "— (none)",
    "trusted_proxies": "— (none: forwarded headers are ignored)",
    "registration_access_token": "— (registration open)",
}


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One line of the settings reference."""

    field: str
    env: str | None  # None: not read from the environment
    type: str
    default: str
    description: str


def env_name(field: str) -> str | None:
    """The environment variable of a `Settings` field, or None when it has none."""
    if field in NOT_FROM_ENV:
        return None
    return ENV_NAMES.get(field, PREFIX + field.upper())


def undocumented() -> list[str]:
    """`Settings` fields without a description in SETTING_DOCS (the unit test wants none)."""
    return [f.name for f in dataclasses.fields(Settings) if f.name not in SETTING_DOCS]


def rows() -> list[SettingRow]:
    """Every `Settings` field in declaration order, with its variable, type and default."""
    hints = typing.get_type_hints(Settings)
    defaults = Settings()
    return [
        SettingRow(
            field=f.name,
            env=env_name(f.name),
            type=_type_name(hints[f.name]),
            default=DEFAULT_TEXT.get(f.name) or _default_text(getattr(defaults, f.name)),
            description=SETTING_DOCS.get(f.name, ""),
        )
        for f in dataclasses.fields(Settings)
    ]


def _type_name(hint: object) -> str:
    if isinstance(hint, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return " | ".join(_type_name(a) for a in args) + " (optional)"
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "list of " + _type_name(typing.get_args(hint)[0])
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    if isinstance(hint, type):
        return names.get(hint, hint.__name__)
    return str(hint)


def _default_text(value: object) -> str:
    if value is None or value == ():
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, tuple):
        if not all(isinstance(v, str) for v in value):
            return "—"
        value = ",".join(value)
    return f"`{value}`"

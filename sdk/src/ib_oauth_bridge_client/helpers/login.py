"""`login()`: the OAuth 2.1 authorization-code flow with PKCE for a desktop or CLI program."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import httpx

from . import browser
from ._http import DEFAULT_TIMEOUT, USER_AGENT, network_errors
from ._token_endpoint import token_request, tokens_from
from .discovery import BridgeMetadata, discover
from .exceptions import BridgeError, IssuerMismatch, LoginTimeout, OAuthError, StateMismatch
from .holder import TokenHolder
from .loopback import LoopbackListener
from .pkce import new_state, new_verifier, s256_challenge
from .stores import TokenStore
from .tokens import Tokens

PUBLIC_CLIENT_ID = "mcp-public-client"
# The IB API, and the name and e-mail that `IB.user()` shows (the bridge releases them at
# /userinfo only to tokens with `profile` and `email`).
DEFAULT_SCOPE = "ib.read ib.write profile email"


def authorization_url(
    metadata: BridgeMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    code_challenge: str,
    resource: str | None = None,
    platform_url: str | None = None,
) -> str:
    """The authorization request URL (RFC 6749 4.1.1 with PKCE S256, RFC 8707 `resource`, and
    the bridge's `platform_url` prefill)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if resource is not None:
        params["resource"] = resource
    if platform_url is not None:
        params["platform_url"] = platform_url
    endpoint = metadata.authorization_endpoint
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


def check_callback(params: dict[str, str], *, state: str, metadata: BridgeMetadata) -> str:
    """Validate an authorization response and return its code.

    Checked in this order: `state` (CSRF), `iss` (mix-up attacks, RFC 9207: required, since the
    bridge advertises it), then an `error`, then the presence of `code`.
    """
    if params.get("state") != state:
        raise StateMismatch(
            "the authorization response's state does not match this sign-in; it may be forged"
        )
    iss = params.get("iss")
    if iss is None and metadata.authorization_response_iss_parameter_supported:
        raise IssuerMismatch("the authorization response has no iss, but the bridge sends one")
    if iss is not None and iss != metadata.issuer:
        raise IssuerMismatch(
            f"the authorization response comes from {iss!r}, not {metadata.issuer!r}"
        )
    if "error" in params:
        raise OAuthError(params["error"] or "unknown_error", params.get("error_description"))
    code = params.get("code")
    if not code:
        raise BridgeError("the authorization response carries neither a code nor an error")
    return code


def login(
    base_url: str,
    *,
    client_id: str = PUBLIC_CLIENT_ID,
    scope: str = DEFAULT_SCOPE,
    resource: str | None = None,
    platform_url: str | None = None,
    open_browser: Callable[[str], bool] | None = None,
    timeout: float = 300,
    store: TokenStore | None = None,
    print_url: Callable[[str], None] = browser.print_url,
    http: httpx.Client | None = None,
) -> TokenHolder:
    """Sign the user in through the bridge and return a `TokenHolder` for the new grant.

    Discovers the bridge, listens on ``http://127.0.0.1:<free port>/callback`` (RFC 8252),
    opens the authorization URL (PKCE S256, a random `state`) in the system browser - or calls
    `print_url` when there is no browser (`webbrowser.open` fails, or no display: SSH, a
    container) - and waits for the redirect. Then it checks `state` and `iss`, exchanges the
    code and saves the tokens into `store`.

    Args:
        base_url: the bridge's base URL (its issuer).
        client_id: a client accepting loopback redirect URIs on any port.
        scope: the scopes to ask for.
        resource: an RFC 8707 resource the access token is for (default: the proxy).
        platform_url: prefills the user's IntelligenceBank platform on the login page.
        open_browser: opens a URL and says whether it did (default: `webbrowser.open`).
        timeout: seconds to wait for the browser to come back.
        store: where to save the tokens (and rotated ones later).
        print_url: shows the URL when no browser could be opened.
        http: httpx client for discovery and the code exchange.

    Raises:
        LoginTimeout: no redirect within `timeout`.
        StateMismatch, IssuerMismatch: the redirect failed validation.
        OAuthError: the user declined (``access_denied``) or the bridge refused.
        NetworkError: the bridge could not be reached.
    """
    metadata = discover(base_url, http=http)
    verifier, state = new_verifier(), new_state()
    with LoopbackListener() as listener:
        redirect_uri = listener.redirect_uri
        url = authorization_url(
            metadata,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            code_challenge=s256_challenge(verifier),
            resource=resource,
            platform_url=platform_url,
        )
        browser.show(url, open_browser, print_url)
        params = listener.wait(timeout)
    if params is None:
        raise LoginTimeout(f"the sign-in did not complete within {timeout:g} s")
    code = check_callback(params, state=state, metadata=metadata)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    if resource is not None:
        form["resource"] = resource
    tokens = _exchange(metadata, form, client_id, http)
    return TokenHolder(metadata, client_id, tokens, store, http=http)


def _exchange(
    metadata: BridgeMetadata, form: dict[str, str], client_id: str, http: httpx.Client | None
) -> Tokens:
    kwargs = token_request(form, client_id, None)
    sent_at = time.time()
    with network_errors("code exchange"):
        if http is not None:
            response = http.post(metadata.token_endpoint, **kwargs)
        else:
            with httpx.Client(
                timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT}
            ) as client:
                response = client.post(metadata.token_endpoint, **kwargs)
    return tokens_from(response, sent_at, None)

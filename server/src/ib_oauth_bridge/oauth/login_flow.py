"""The login flow behind /authorize: from a validated authorization request, through IB's
browser login, to the authorization code. A state machine over the store, free of HTTP.

    start            validate the request (Authlib), open a login transaction
    submit_platform  check the platform URL, ask IB for a login token: PENDING
    poll             ask IB (at most once per interval, across all workers) and, once IB
                     reports the login, store the grant and issue the code: DONE
    confirm          the person, shown who signed in, chooses Continue: the redirect to the
                     client, with a fresh code when the first expired unused
    cancel           drop the transaction (and, once DONE, revoke the grant it made), send
                     the browser back with access_denied

"Completes exactly once" holds across worker processes through the store: `claim_poll` lets
one worker ask IB per interval, and `finish_transaction` lets one worker move the transaction
out of PENDING; a worker that loses the race revokes the grant it made.

Anonymous work is bounded in the store too: an address may hold only so many unfinished
transactions (`count_live_transactions`), and a transaction may start only so many IB logins
and make only so many IB calls in all (`claim_submission`, `claim_poll`). Beyond a bound the
answer is an error and nothing is stored or sent to IB.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error

from ..audit import Audit, Event, Outcome
from ..clock import Clock
from ..errors import BridgeError
from ..ib.browser_login import BrowserLoginClient, IBError, IBLogin, login_page_url
from ..ib.platform import HostPolicy, PlatformURLError
from ..settings import Settings
from ..store.crypto import SidCipher, SidDecryptionError, seal_text, unseal_text
from ..store.protocols import GrantStore, TransactionStore
from ..store.records import Grant, LoginStatus, LoginTransaction, secret_hash
from ..strings import STATUS
from .clients import Client, ClientLookup, is_loopback_url
from .registration import clean_text
from .requests import BridgeOAuth2Request, Params
from .server import AuthorizationServer
from .tokens import AuthorizedUser

log = logging.getLogger("ib_oauth_bridge.login")

INVALID_LINK = "This sign-in link is not valid"
# Retry-After when an address has too many sign-ins in progress: any of them may finish or be
# cancelled at any moment, so this is a hint, not the time until the oldest expires.
PENDING_RETRY_AFTER = 60
MESSAGES = {status: STATUS[status.value] for status in LoginStatus if status.value in STATUS}


# How much of IB's name and e-mail the page shows: IB's own fields, cut to a readable length.
IDENTITY_LENGTH = 120


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A finished login, as the browser's next step needs it: where it goes (the client's
    redirect URI with the code) and who signed in. Kept sealed in the transaction (its
    `redirect_to`), never in the clear: the location carries the code, and the name and e-mail
    are the user's. `grant_id` and `minted_at` let Continue revoke the grant or mint a fresh
    code; a transaction completed before they were kept has neither (nor a name or e-mail)."""

    location: str
    name: str | None = None
    email: str | None = None
    grant_id: str | None = None
    minted_at: float | None = None

    def identity(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email}

    def seal(self, cipher: SidCipher, transaction_id: str) -> str:
        return seal_text(
            cipher, json.dumps(dataclasses.asdict(self), ensure_ascii=False), context=transaction_id
        )

    @classmethod
    def from_text(cls, text: str) -> SignedIn:
        """The record from its unsealed text."""
        if not text.startswith("{"):  # sealed by an older bridge: the bare location
            return cls(location=text)
        data = json.loads(text)
        minted_at = data.get("minted_at")
        return cls(
            location=str(data["location"]),
            name=_text_or_none(data.get("name")),
            email=_text_or_none(data.get("email")),
            grant_id=_text_or_none(data.get("grant_id")),
            minted_at=float(minted_at) if isinstance(minted_at, int | float) else None,
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def identity_of(claims: dict[str, str]) -> tuple[str | None, str | None]:
    """The name and e-mail the page shows, from IB's login answer: control and formatting
    characters removed (the template escapes the rest), None when IB gave none."""
    name = clean_text(claims.get("name", ""), IDENTITY_LENGTH) or None
    email = clean_text(claims.get("email", ""), IDENTITY_LENGTH) or None
    return name, email


@dataclass(frozen=True, slots=True)
class StartedLogin:
    transaction_id: str  # the browser's secret: goes into the signed cookie, hashed in the store
    transaction: LoginTransaction
    client: Client
    platform_url: str  # the prefill the app asked for, if any


class LoginFlow:
    def __init__(
        self,
        settings: Settings,
        *,
        transactions: TransactionStore,
        grants: GrantStore,
        clients: ClientLookup,
        oauth: AuthorizationServer,
        ib_login: BrowserLoginClient,
        host_policy: HostPolicy,
        cipher: SidCipher,
        clock: Clock,
        audit: Audit,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.transactions = transactions
        self.grants = grants
        self.clients = clients
        self.oauth = oauth
        self.ib_login = ib_login
        self.host_policy = host_policy
        self.cipher = cipher
        self.clock = clock

    # start ------------------------------------------------------------------------------------

    async def start(self, query: Params, *, address_hash: str) -> StartedLogin:
        """Validate an authorization request and open its login transaction. A request whose
        client or redirect URI is wrong raises a BridgeError for a page; anything else wrong
        raises one that redirects back to the client (RFC 6749 4.1.2.1). An address (its
        keyed hash) with too many unfinished transactions already gets a 429, and nothing is
        stored."""
        request = BridgeOAuth2Request("GET", f"{self.settings.issuer}/authorize", {}, query)
        try:
            consent = await self.oauth.consent(request)
            self._check_resource(request)
        except ValueError:
            # Authlib refuses to echo characters RFC 6749 forbids in error text (quotes,
            # backslashes, controls, non-ASCII); such a request is malformed, not redirectable.
            raise BridgeError(
                400,
                "invalid_request",
                "The sign-in link contains characters that are not allowed.",
                title=INVALID_LINK,
            ) from None
        except OAuth2Error as error:
            if error.redirect_uri:
                raise self.error_redirect(
                    error.redirect_uri,
                    error.error,
                    error.get_error_description(),
                    request.payload.state,
                    status_code=302,
                ) from None
            raise BridgeError(
                400,
                error.error or "invalid_request",
                _client_error_message(error),
                title=INVALID_LINK,
            ) from None
        # Within one worker nothing suspends between this count and the put below; across
        # workers the cap may be passed by at most one transaction per other worker.
        live = await self.transactions.count_live_transactions(address_hash)
        if live >= self.settings.login_max_pending_per_address:
            raise BridgeError(
                429,
                "rate_limited",
                f"Too many sign-ins are in progress from this address (at most "
                f"{self.settings.login_max_pending_per_address}). Finish or cancel one, or try "
                f"again in {PENDING_RETRY_AFTER} s.",
                title="Too many sign-ins in progress",
                headers={"Retry-After": str(PENDING_RETRY_AFTER)},
            )
        client: Client = request.client
        data = request.payload.data
        transaction_id = secrets.token_urlsafe(32)
        transaction = LoginTransaction(
            client_id=client.client_id,
            redirect_uri=consent.redirect_uri,
            state=data.get("state"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            scope=request.scope,
            resource=data.get("resource"),
            expires_at=self.clock() + self.settings.login_ttl,
            nonce=data.get("nonce"),
            address_hash=address_hash,
        )
        await self.transactions.put_transaction(secret_hash(transaction_id), transaction)
        self.audit.emit(Event.LOGIN_STARTED, client_id=client.client_id)
        return StartedLogin(transaction_id, transaction, client, data.get("platform_url", ""))

    def _check_resource(self, request: BridgeOAuth2Request) -> None:
        """RFC 8707: a token may only be asked for a resource this bridge knows."""
        resources = request.payload.datalist.get("resource", [])
        if not resources:
            return
        if len(resources) > 1:
            description = "Ask for one resource per authorization request."
        elif not self.resource_allowed(resources[0]):
            description = "The requested resource is not served by this authorization server."
        else:
            return
        raise self.error_redirect(
            request.payload.redirect_uri,
            "invalid_target",
            description,
            request.payload.state,
            status_code=302,
        )

    def resource_allowed(self, resource: str) -> bool:
        settings = self.settings
        if resource in {settings.proxy_resource, *settings.allowed_resources}:
            return True
        if any(client.resource == resource for client in settings.clients):
            return True  # a configured resource server's own URL
        return settings.dev_mode and is_loopback_url(resource)

    def error_redirect(
        self,
        redirect_uri: str,
        error: str,
        description: str | None,
        state: str | None,
        *,
        status_code: int,
    ) -> BridgeError:
        """The error as a redirect back to the client, with `state` and RFC 9207 `iss`."""
        params = [("error", error)]
        if description:
            params.append(("error_description", description))
        if state:
            params.append(("state", state))
        params.append(("iss", self.settings.issuer))
        return BridgeError(
            status_code,
            error,
            description or error,
            redirect_to=add_params_to_uri(redirect_uri, params),
        )

    # the transaction ---------------------------------------------------------------------

    async def transaction(self, transaction_id: str) -> LoginTransaction:
        transaction = await self.transactions.get_transaction(secret_hash(transaction_id))
        if transaction is None:
            raise BridgeError(
                410, "login_expired", "This sign-in has expired. Return to the app and start again."
            )
        return transaction

    async def client_of(self, transaction: LoginTransaction) -> Client:
        client = await self.clients.get(transaction.client_id)
        if client is None:  # a registration deleted while its user was signing in
            raise BridgeError(
                410, "login_expired", "The app behind this sign-in is no longer registered."
            )
        return client

    def _unseal(self, sealed: str, *, context: str) -> str:
        """A sealed text of the transaction, or 410 when no key of the bridge opens it any
        more (the encryption key was rotated and the previous one dropped mid-login)."""
        try:
            return unseal_text(self.cipher, sealed, context=context)
        except (SidDecryptionError, ValueError):
            raise BridgeError(
                410,
                "login_expired",
                "This sign-in can no longer be completed. Return to the app and start again.",
            ) from None

    def message_of(self, transaction: LoginTransaction) -> str:
        return transaction.error or MESSAGES.get(transaction.status, "")

    def redirect_of(self, transaction_id: str, transaction: LoginTransaction) -> str | None:
        """Where the browser goes once the login is done (the client's redirect URI with the
        code), or None before that."""
        signed_in = self.signed_in_of(transaction_id, transaction)
        return signed_in.location if signed_in else None

    def signed_in_of(self, transaction_id: str, transaction: LoginTransaction) -> SignedIn | None:
        """The finished login (where the browser goes, who signed in), or None before that."""
        if transaction.status is not LoginStatus.DONE or not transaction.redirect_to:
            return None
        return SignedIn.from_text(self._unseal(transaction.redirect_to, context=transaction_id))

    def login_url_of(self, transaction_id: str, transaction: LoginTransaction) -> str | None:
        """IB's sign-in page for a pending login, or None."""
        if transaction.status is not LoginStatus.PENDING or not transaction.platform_url:
            return None
        login_token = self._unseal(transaction.ib_login_token or "", context=transaction_id)
        return login_page_url(transaction.platform_url, login_token)

    # submit_platform -----------------------------------------------------------------------

    async def submit_platform(self, transaction_id: str, raw_url: str) -> LoginTransaction:
        """Start IB's browser login on the platform the user typed: the transaction, now
        PENDING (`login_url_of` gives IB's sign-in page). A platform URL the bridge refuses
        raises PlatformURLError (its message is for people)."""
        platform_url = self.host_policy.normalize(raw_url)
        # Counted before any outbound work (the DNS check included), and atomically: of many
        # submissions at once, no more than the cap get through.
        key = secret_hash(transaction_id)
        claimed = await self.transactions.claim_submission(
            key,
            max_submissions=self.settings.login_max_submissions,
            max_ib_calls=self.settings.login_max_ib_calls,
        )
        if claimed is None:
            await self.transaction(transaction_id)  # 410 when it is gone or expired
            raise out_of_attempts()
        await self.host_policy.check_resolves_publicly(platform_url)
        try:
            login_token = await self.ib_login.start(platform_url)
        except IBError as exc:
            self.audit.emit(
                Event.LOGIN_FAILED,
                Outcome.FAILURE,
                client_id=claimed.client_id,
                reason="ib_timeout" if exc.timeout else "ib_unavailable",
            )
            if exc.timeout:
                raise BridgeError(504, "gateway_timeout", str(exc)) from None
            raise BridgeError(502, "bad_gateway", str(exc)) from None
        pending = dataclasses.replace(
            claimed,
            platform_url=platform_url,
            ib_login_token=seal_text(self.cipher, login_token, context=transaction_id),
            status=LoginStatus.PENDING,
            started_at=self.clock(),
            last_polled_at=0.0,
            error=None,
        )
        await self.transactions.put_transaction(key, pending)
        return pending

    # poll ------------------------------------------------------------------------------------

    async def poll(self, transaction_id: str, transaction: LoginTransaction) -> LoginTransaction:
        """Ask IB about a pending login, at most once per poll interval across all workers, and
        complete it when IB reports it done. Returns the transaction as it now stands."""
        if transaction.status is not LoginStatus.PENDING:
            return transaction
        key = secret_hash(transaction_id)
        now = self.clock()
        if now - transaction.started_at > self.settings.ib_login_token_ttl:
            self.audit.emit(Event.LOGIN_EXPIRED, Outcome.FAILURE, client_id=transaction.client_id)
            return await self._finish(key, transaction, status=LoginStatus.EXPIRED)
        max_ib_calls = self.settings.login_max_ib_calls
        if transaction.ib_calls >= max_ib_calls:
            raise out_of_attempts()
        claimed = await self.transactions.claim_poll(
            key, now=now, min_interval=self.settings.ib_poll_interval, max_ib_calls=max_ib_calls
        )
        if claimed is None:  # another request asked IB a moment ago, or the login moved on
            return await self._current(key, transaction)
        assert claimed.platform_url, "a pending transaction has a platform"
        login_token = self._unseal(claimed.ib_login_token or "", context=transaction_id)
        try:
            login = await self.ib_login.poll(claimed.platform_url, login_token)
        except IBError as exc:
            return await self._finish(key, claimed, error=f"{exc} Still trying…")
        if login is None:
            return await self._finish(key, claimed, error=None) if claimed.error else claimed
        try:
            grant, location = await self._complete(claimed, login)
        except (PlatformURLError, OAuth2Error) as exc:
            log.warning("login could not be completed", extra={"reason": type(exc).__name__})
            self.audit.emit(
                Event.LOGIN_FAILED,
                Outcome.FAILURE,
                client_id=claimed.client_id,
                ib_user_id=login.user_uuid or None,
                reason="api_host_refused"
                if isinstance(exc, PlatformURLError)
                else "authorization_replay_failed",
            )
            return await self._finish(
                key,
                claimed,
                status=LoginStatus.FAILED,
                error=f"The sign-in could not be completed: {exc}",
            )
        grant_id = grant.grant_id
        name, email = identity_of(grant.user)
        minted = SignedIn(location, name, email, grant_id, minted_at=self.clock())
        sealed = minted.seal(self.cipher, transaction_id)
        done = dataclasses.replace(claimed, status=LoginStatus.DONE, redirect_to=sealed, error=None)
        if await self.transactions.finish_transaction(key, done):
            log.info("login completed", extra={"client_id": done.client_id, "grant_id": grant_id})
            self.audit.emit(
                Event.LOGIN_COMPLETED,
                client_id=done.client_id,
                ib_user_id=login.user_uuid or None,
                grant_id=grant_id,
            )
            # A registration that has signed someone in is in use: it no longer expires.
            await self.clients.mark_used(done.client_id)
            return done
        # Another worker completed this login first: the grant made here must not live on.
        await self.oauth.end_grant(grant_id, "login completed by another worker")
        return await self._current(key, transaction)

    async def _finish(
        self,
        key: str,
        transaction: LoginTransaction,
        *,
        status: LoginStatus = LoginStatus.PENDING,
        error: str | None = None,
    ) -> LoginTransaction:
        changed = dataclasses.replace(transaction, status=status, error=error)
        if await self.transactions.finish_transaction(key, changed):
            return changed
        return await self._current(key, transaction)

    async def _current(self, key: str, fallback: LoginTransaction) -> LoginTransaction:
        return await self.transactions.get_transaction(key) or fallback

    async def _complete(self, transaction: LoginTransaction, login: IBLogin) -> tuple[Grant, str]:
        """Store the IB session as a grant and issue the code by replaying the stored
        authorization request through Authlib. Returns the grant and where the browser goes
        next."""
        assert transaction.platform_url
        api_v3_url = await self.host_policy.check_api_url(login.api_v3_url)
        now = self.clock()
        grant_id = secrets.token_urlsafe(18)
        grant = Grant(
            grant_id=grant_id,
            client_id=transaction.client_id,
            scope=transaction.scope,
            resource=transaction.resource,
            sid_ciphertext=self.cipher.encrypt(login.sid, grant_id=grant_id),
            platform_url=transaction.platform_url,
            api_v3_url=api_v3_url,
            ib_client_id=login.ib_client_id,
            user={
                **login.claims(),
                "ib_platform_url": transaction.platform_url,
                "ib_api_url": api_v3_url,
            },
            session_expires_at=login.session_expires_at,
            created_at=now,
            last_used_at=now,
        )
        await self.grants.put_grant(grant)
        return grant, await self._mint(transaction, grant)

    async def _mint(
        self, transaction: LoginTransaction, grant: Grant, *, reissue: bool = False
    ) -> str:
        """Issue a code for the grant by replaying the stored authorization request through
        Authlib: the client's redirect URI with `code`, `state` and `iss`. When the replay is
        refused, the grant ends (no code of it is out) and OAuth2Error says why. `reissue`:
        the grant's first code expired unused, so its OpenID nonce may be carried again."""
        grant_id = grant.grant_id
        query = [
            ("response_type", "code"),
            ("client_id", transaction.client_id),
            ("redirect_uri", transaction.redirect_uri),
            ("scope", transaction.scope),
            ("code_challenge", transaction.code_challenge),
            ("code_challenge_method", transaction.code_challenge_method),
            *([("state", transaction.state)] if transaction.state else []),
            *([("resource", transaction.resource)] if transaction.resource else []),
            *([("nonce", transaction.nonce)] if transaction.nonce else []),
        ]
        request = BridgeOAuth2Request("GET", f"{self.settings.issuer}/authorize", {}, query)
        response = await self.oauth.authorization_response(
            request, AuthorizedUser(grant, reissue=reissue)
        )
        location = response.location
        answer = dict(parse_qsl(urlsplit(location or "").query))
        if response.status_code != 302 or not location or "code" not in answer:
            await self.oauth.end_grant(grant_id, "the authorization request could not be replayed")
            raise OAuth2Error(
                error=answer.get("error"),
                description=answer.get("error_description")
                or "the authorization request could not be replayed",
            )
        return location

    # confirm ---------------------------------------------------------------------------------

    async def confirm(self, transaction_id: str, transaction: LoginTransaction) -> str:
        """The person has seen who signed in and chosen Continue: where the browser goes. The
        code was issued when IB reported the login, and a person may take longer than its
        lifetime to choose; a code that expired unused is replaced by a fresh one for the same
        grant (at most one per press). A code the client has already exchanged is never
        replaced: the exchange and the replacement settle the code's fate once, atomically,
        and only one of them wins."""
        signed_in = self.signed_in_of(transaction_id, transaction)
        if signed_in is None:
            raise BridgeError(
                409, "login_not_done", "This sign-in is not finished yet.", title="Not signed in"
            )
        now = self.clock()
        if (
            signed_in.grant_id is None
            or signed_in.minted_at is None
            or now < signed_in.minted_at + self.settings.code_ttl
        ):
            return signed_in.location  # still valid (or completed by an older bridge: as it was)
        key = secret_hash(transaction_id)
        code = dict(parse_qsl(urlsplit(signed_in.location).query)).get("code", "")
        if not await self.oauth.settle_code(code, transaction.expires_at):
            # Exchanged by the client, or replaced by another press a moment ago: as it stands.
            return self.redirect_of(transaction_id, await self._current(key, transaction)) or (
                signed_in.location
            )
        grant = await self.oauth.live_grant(signed_in.grant_id)
        if grant is None:
            raise ended_sign_in()
        try:
            location = await self._mint(transaction, grant, reissue=True)
        except OAuth2Error:
            log.warning("code could not be reissued", extra={"client_id": transaction.client_id})
            raise ended_sign_in() from None
        renewed = dataclasses.replace(signed_in, location=location, minted_at=now)
        await self.transactions.put_transaction(
            key,
            dataclasses.replace(transaction, redirect_to=renewed.seal(self.cipher, transaction_id)),
        )
        log.info(
            "authorization code reissued",
            extra={"client_id": transaction.client_id, "grant_id": grant.grant_id},
        )
        return location

    async def _grant_of_code(self, location: str) -> str | None:
        """The grant behind the code in a redirect (for a transaction completed by an older
        bridge, which kept only the location); None once the code has expired."""
        code = dict(parse_qsl(urlsplit(location).query)).get("code")
        if not code:
            return None
        consumed = await self.oauth.codes.consume_code(secret_hash(code))
        return consumed.record.grant_id if consumed.record else None

    # cancel ----------------------------------------------------------------------------------

    async def cancel(self, transaction_id: str, transaction: LoginTransaction) -> BridgeError:
        """Drop the transaction; the answer is the redirect back to the client. Once the login
        is done ("Not you? Cancel"), the grant it made is revoked first: its code, and any
        token the client already has for it, die with it."""
        signed_in = self.signed_in_of(transaction_id, transaction)
        if signed_in is not None:
            grant_id = signed_in.grant_id or await self._grant_of_code(signed_in.location)
            if grant_id is not None:
                await self.oauth.end_grant(grant_id, "the user cancelled the signed-in sign-in")
        await self.transactions.delete_transaction(secret_hash(transaction_id))
        self.audit.emit(Event.LOGIN_CANCELLED, Outcome.FAILURE, client_id=transaction.client_id)
        return self.error_redirect(
            transaction.redirect_uri,
            "access_denied",
            "The user cancelled the sign-in.",
            transaction.state,
            status_code=303,
        )


def ended_sign_in() -> BridgeError:
    return BridgeError(
        410,
        "login_expired",
        "This sign-in has ended. Return to the app and start again.",
        title="Sign-in ended",
    )


def out_of_attempts() -> BridgeError:
    """A login that has asked IB as often as one may: it will not ask again (403, since
    waiting does not help)."""
    return BridgeError(
        403,
        "access_denied",
        "This sign-in has been tried too many times. Return to the app and start again.",
        title="Too many attempts",
    )


def _client_error_message(error: OAuth2Error) -> str:
    description = error.get_error_description() or error.error
    return (
        f"{description} The app that sent you here is not set up correctly, so you have not "
        "been sent back to it. Return to the app and try again, or contact its developer."
    )

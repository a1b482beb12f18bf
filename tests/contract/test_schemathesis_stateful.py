"""Stateful Schemathesis: sequences of calls chained by the `links` of openapi.yaml (a token
response feeds a refresh, an introspection and revocations; a registration feeds an
authorization request), against the running bridge, with every Schemathesis check on every
step. The configuration (and each narrowing of a check, with its reason) is the stateless
run's (test_schemathesis.py).

Authentication comes from fixtures, as in the stateless run: the Bearer operations get the
session's real access token; /introspect the bridge's configured resource server
(servers.MCP_SERVER_CLIENT) by HTTP Basic; and so that chains start from a real token
response, a refresh-token grant that does not already carry a token issued in this run gets a
live refresh token of a real sign-in (with the well-known public client's id), the way a client
that holds one would send it: every such sequence starts from a refresh token never presented
before (the run's newest, rotated once by the test), so that replaying a sequence gives the same
answers, as Hypothesis requires; a sequence that revoked the grant makes the next one sign in
again.

Bounded: STATEFUL_EXAMPLES sequences of at most STATEFUL_STEPS calls (shrinking off, no
example database): about 30 s on two cores, server start shared with the stateless run.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from test_schemathesis import CONFIG, SPEC_PATH, TOKEN_PLACEHOLDER

from flow import LOOPBACK_REDIRECT, authorize, exchange
from servers import MCP_SERVER_CLIENT, Bridge, Emulator

STATEFUL_EXAMPLES = int(os.environ.get("CONTRACT_STATEFUL_EXAMPLES", "25"))
STATEFUL_STEPS = int(os.environ.get("CONTRACT_STATEFUL_STEPS", "6"))
PUBLIC_CLIENT = "mcp-public-client"
BEARER_OPERATIONS = {"userinfo", "proxy_get", "proxy_head", "proxy_post", "proxy_put",
                     "proxy_patch", "proxy_delete"}

schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)


@dataclass
class Tokens:
    """Real credentials for the run: what the bridge issued, and a live refresh token."""

    bridge: Bridge
    emulator: Emulator
    access_token: str
    issued: set[str] = field(default_factory=set)
    live_refresh: str | None = None
    sign_ins: int = 0  # counted after the fixture's own
    steps: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    link_steps: int = 0

    def fresh_refresh_token(self) -> str:
        """A live refresh token never presented before, whatever earlier sequences did: the
        newest one of the run's grant, rotated once here (so that every sequence that starts
        from one gets the same answers); a new sign-in when a sequence ended that grant."""
        if self.live_refresh is not None:
            answer = httpx.post(f"{self.bridge.url}/token", timeout=10, data={
                "grant_type": "refresh_token", "refresh_token": self.live_refresh,
                "client_id": PUBLIC_CLIENT})
            if answer.status_code == 200:
                self.note(answer.json())
                assert self.live_refresh is not None
                return self.live_refresh
        answer = exchange(self.bridge.url, authorize(self.bridge.url, self.emulator.platform_url))
        assert answer.status_code == 200, answer.text
        self.sign_ins += 1
        self.note(answer.json())
        assert self.live_refresh is not None
        return self.live_refresh

    def note(self, body: Any) -> None:
        if isinstance(body, dict):
            for name in ("access_token", "refresh_token"):
                if isinstance(body.get(name), str):
                    self.issued.add(body[name])
            if isinstance(body.get("refresh_token"), str):
                self.live_refresh = body["refresh_token"]


def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId"))


def _is_form(body: Any) -> bool:
    return isinstance(body, dict)


def statemachine_for(tokens: Tokens) -> Any:
    base = schema.as_state_machine()

    class BridgeStateMachine(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            operation = _operation_id(case)
            if operation in BEARER_OPERATIONS:
                case.headers = {**(case.headers or {}),
                                "Authorization": f"Bearer {tokens.access_token}"}
            body = case.body
            if operation == "register" and _is_form(body) and case.meta is not None and (
                case.meta.generation.mode.is_positive
            ):
                # A schema cannot say which redirect URIs the bridge accepts (test_schemathesis.py):
                # a registering client names one it may, so that registrations succeed and the
                # link to /authorize is followed.
                body["redirect_uris"] = [LOOPBACK_REDIRECT]
            if operation == "token" and _is_form(body) and (
                body.get("grant_type") == "refresh_token"
            ):
                if body.get("refresh_token") not in tokens.issued:
                    body["refresh_token"] = tokens.fresh_refresh_token()
                if body.get("refresh_token") in tokens.issued:
                    _as_client_sends(body, "grant_type", "refresh_token")
                    body["client_id"] = PUBLIC_CLIENT
            if operation == "revoke" and _is_form(body) and body.get("token") in tokens.issued:
                _as_client_sends(body, "token", "token_type_hint")
                body["client_id"] = PUBLIC_CLIENT
            if operation == "introspect" and _is_form(body) and body.get("token") in tokens.issued:
                _as_client_sends(body, "token", "token_type_hint")
                case.headers = {**(case.headers or {}),
                                "Authorization": _basic(*MCP_SERVER_CLIENT)}
            assert TOKEN_PLACEHOLDER not in str(case.headers)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": tokens.bridge.url}

        def after_call(self, response: Any, case: Any) -> None:
            tokens.steps += 1
            operation = _operation_id(case)
            tokens.statuses[f"{operation} {response.status_code}"] = (
                tokens.statuses.get(f"{operation} {response.status_code}", 0) + 1
            )
            if operation == "token" and response.status_code == 200:
                tokens.note(response.json())

    return BridgeStateMachine


def _as_client_sends(body: dict[str, Any], *fields: str) -> None:
    """A real client's form around a real token: its own fields, as strings, and nothing else
    (generated extra fields with list values would be repeated parameters, refused as such)."""
    for name in list(body):
        if name not in fields or not isinstance(body[name], str):
            del body[name]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_links_in_the_contract() -> None:
    """The links the stateful run follows are in the spec (and name real operations)."""
    links = {
        (name, link["operationId"])
        for item in schema.raw_schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for name, link in response.get("links", {}).items()
    }
    assert {target for _, target in links} == {"token", "introspect", "revoke", "authorize"}
    assert len(links) == 5


@pytest.mark.timeout(240)
def test_stateful_sequences_conform(bridge: Bridge, emulator: Emulator,
                                    access_token: str, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = Tokens(bridge, emulator, access_token)
    machine = statemachine_for(tokens)
    machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    # The figures, for the record (pytest -s shows them).
    with capsys.disabled():
        print(f"\nstateful: {tokens.steps} calls, {tokens.sign_ins} sign-ins, "
              f"{len(tokens.issued)} tokens issued; by operation and status: "
              f"{dict(sorted(tokens.statuses.items()))}")
    assert tokens.steps >= STATEFUL_EXAMPLES
    # The chains did start from real token responses and reached their targets.
    assert tokens.statuses.get("token 200", 0) >= 1
    assert any(key.startswith(("introspect 200", "revoke 200")) for key in tokens.statuses)
    assert tokens.statuses.get("register 201", 0) >= 1

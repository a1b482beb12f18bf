"""JWT forgery against the bridge's resource endpoints (/userinfo, the proxy) and its
introspection (RFC 9068, RFC 8725): `alg: none`, HS256 keyed with the public key, keys the token
brings along (`jwk`, `jku`, `x5u`, `kid` tricks), keys the bridge never had, real signatures
over wrong claims (iss, aud, exp, nbf, iat, typ, sub, client_id), a token for a third-party
resource at the proxy, header and payload swapped between tokens, and `crit`.

Each is refused with 401 `invalid_token` and a Bearer challenge, never reaches IB (a listener
stands where IB's API host is and must see no connection), and introspects as inactive. The
control row, the real token, passes both (the proxy then connects to the listener)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from docserver import RecordingListener
from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import tokens
from inprocess_stack import ISSUER, Stack, open_stack

pytestmark = pytest.mark.anyio

PROXY_PATH = "/proxy/api/3.0.0/BnK4JV/resource.limit(1)"
THIRD_PARTY = "http://127.0.0.1:8003/mcp"
INTROSPECTOR = ("resource-server", "resource-server-secret")
ATTACKER_EC = ECKey.generate_key("P-256", private=True)
ATTACKER_RSA = RSAKey.generate_key(2048, private=True)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@dataclass
class Material:
    """What an attacker (or a test) has: the real access token, a second one, an id_token, a
    token for a third-party resource, the bridge's public JWKS and, for claim tests, the
    bridge's own key (a real signature over wrong claims)."""

    token: str
    other: str
    id_token: str
    third_party: str
    jwks: dict[str, Any]
    bridge_key: ECKey

    @property
    def header(self) -> dict[str, Any]:
        return dict(unb64(self.token.split(".")[0]))

    @property
    def claims(self) -> dict[str, Any]:
        return dict(unb64(self.token.split(".")[1]))


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{signature}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = unsigned(header, claims)[:-1]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def signed(key: Any, header: dict[str, Any], claims: dict[str, Any]) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def real(m: Material, **changes: Any) -> str:
    """The real token's claims changed (None drops a claim), signed with the bridge's key."""
    claims = {**m.claims, **changes}
    return signed(m.bridge_key, m.header, {k: v for k, v in claims.items() if v is not None})


def with_header(m: Material, **changes: Any) -> str:
    """The real claims under a changed header (None drops a field), with the bridge's key."""
    header = {**m.header, **changes}
    header = {k: v for k, v in header.items() if v is not None}
    return signed(m.bridge_key, header, m.claims)


def public_jwk(m: Material) -> dict[str, Any]:
    return dict(m.jwks["keys"][0])


def _now(m: Material) -> int:
    return int(m.claims["iat"])


Forge = Callable[[Material], str]
FORGERIES: dict[str, Forge] = {
    "alg-none": lambda m: unsigned({**m.header, "alg": "none"}, m.claims),
    "alg-none-keeping-signature": lambda m: unsigned(
        {**m.header, "alg": "none"}, m.claims, m.token.split(".")[2]
    ),
    "alg-None-capitalised": lambda m: unsigned({**m.header, "alg": "None"}, m.claims),
    "hs256-keyed-with-public-jwk-json": lambda m: hs256(
        {**m.header, "alg": "HS256"}, m.claims, json.dumps(public_jwk(m)).encode()
    ),
    "hs256-keyed-with-public-x-coordinate": lambda m: hs256(
        {**m.header, "alg": "HS256"}, m.claims, base64.urlsafe_b64decode(public_jwk(m)["x"] + "==")
    ),
    "hs256-keyed-with-public-pem": lambda m: hs256(
        {**m.header, "alg": "HS256"},
        m.claims,
        ECKey.import_key(public_jwk(m)).as_pem(private=False),
    ),
    "embedded-jwk": lambda m: signed(
        ATTACKER_EC,
        {**m.header, "jwk": ATTACKER_EC.as_dict(private=False)},
        m.claims,
    ),
    "jku-to-attacker": lambda m: signed(
        ATTACKER_EC, {**m.header, "jku": "https://evil.example/jwks.json"}, m.claims
    ),
    "x5u-to-attacker": lambda m: signed(
        ATTACKER_EC, {**m.header, "x5u": "https://evil.example/cert.pem"}, m.claims
    ),
    "kid-path-traversal": lambda m: signed(
        ATTACKER_EC, {**m.header, "kid": "../../../../../dev/null"}, m.claims
    ),
    "kid-sql-injection": lambda m: signed(
        ATTACKER_EC, {**m.header, "kid": "x' UNION SELECT 'k"}, m.claims
    ),
    "kid-empty": lambda m: signed(ATTACKER_EC, {**m.header, "kid": ""}, m.claims),
    "kid-missing-attacker-key": lambda m: signed(
        ATTACKER_EC, {k: v for k, v in m.header.items() if k != "kid"}, m.claims
    ),
    "bridge-kid-attacker-key": lambda m: signed(ATTACKER_EC, m.header, m.claims),
    "rs256-attacker-key": lambda m: signed(ATTACKER_RSA, {**m.header, "alg": "RS256"}, m.claims),
    "wrong-iss": lambda m: real(m, iss="https://evil.example"),
    "iss-with-trailing-slash": lambda m: real(m, iss=ISSUER + "/"),
    "missing-iss": lambda m: real(m, iss=None),
    "wrong-aud": lambda m: real(m, aud=["https://evil.example/api"]),
    "missing-aud": lambda m: real(m, aud=None),
    "expired": lambda m: real(m, exp=_now(m) - 60),
    "missing-exp": lambda m: real(m, exp=None),
    "exp-as-string": lambda m: real(m, exp=str(m.claims["exp"])),
    "nbf-in-the-future": lambda m: real(m, nbf=_now(m) + 600),
    "iat-in-the-future": lambda m: real(m, iat=_now(m) + 600),
    "missing-sub": lambda m: real(m, sub=None),
    "other-sub": lambda m: real(m, sub="u-someone-else"),
    "missing-client-id": lambda m: real(m, client_id=None),
    "other-client-id": lambda m: real(m, client_id="other-public"),
    "unknown-grant-id": lambda m: real(m, grant_id="no-such-grant"),
    "typ-jwt": lambda m: with_header(m, typ="JWT"),
    "typ-missing": lambda m: with_header(m, typ=None),
    "crit-unknown-extension": lambda m: es256(
        m.bridge_key, {**m.header, "crit": ["x-evil"], "x-evil": True}, m.claims
    ),
    "crit-exp": lambda m: es256(m.bridge_key, {**m.header, "crit": ["exp"]}, m.claims),
    "id-token-as-access-token": lambda m: m.id_token,
    "third-party-resource-token": lambda m: m.third_party,
    "header-swapped-from-id-token": lambda m: ".".join(
        [m.id_token.split(".")[0], *m.token.split(".")[1:]]
    ),
    "payload-swapped-from-other-token": lambda m: ".".join(
        [m.token.split(".")[0], m.other.split(".")[1], m.token.split(".")[2]]
    ),
    "signature-of-other-token": lambda m: ".".join(
        [*m.token.split(".")[:2], m.other.split(".")[2]]
    ),
    "truncated-signature": lambda m: m.token[:-4],
    "extra-segment": lambda m: m.token + ".e30",
    "jwe-shaped": lambda m: "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc",
    "payload-not-json": lambda m: ".".join([m.token.split(".")[0], b64(b"not json"), "x"]),
    "payload-json-array": lambda m: real_array(m),
}


def real_array(m: Material) -> str:
    return jws.serialize_compact(m.header, b"[1, 2, 3]", m.bridge_key)


def es256(key: ECKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """ES256 by hand, for headers joserfc will not sign (`crit`)."""
    signing_input = unsigned(header, claims)[:-1]
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.fixture(scope="module")
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as opened:
        yield opened


@pytest.fixture(scope="module")
async def forged_stack(
    tmp_path_factory: pytest.TempPathFactory, listener: RecordingListener
) -> AsyncIterator[tuple[Stack, Material]]:
    """One bridge for the module, IB's API host standing on the listener's port."""
    async with open_stack(
        Path(tmp_path_factory.mktemp("jwt")),
        EmulatorConfig(port=listener.port),
        clients=(
            ClientConfig(
                client_id=INTROSPECTOR[0],
                client_secret=INTROSPECTOR[1],
                token_endpoint_auth_method="client_secret_basic",
                redirect_uris=("https://rs.example/cb",),
                introspect=True,
            ),
        ),
    ) as stack:
        first = await tokens(stack)
        second = await tokens(stack)
        oidc = await tokens(stack, scope="openid ib.read")
        third = await tokens(stack, resource=THIRD_PARTY)
        jwks = (await stack.http.get("/jwks.json")).json()
        material = Material(
            first["access_token"],
            second["access_token"],
            oidc["id_token"],
            third["access_token"],
            jwks,
            ECKey.import_key(json.loads(stack.settings.signing_key or "")),
        )
        yield stack, material


async def _introspect(stack: Stack, token: str) -> dict[str, Any]:
    answer = await stack.http.post("/introspect", data={"token": token}, auth=INTROSPECTOR)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_the_real_token_passes(
    forged_stack: tuple[Stack, Material], listener: RecordingListener
) -> None:
    stack, material = forged_stack
    bearer = {"Authorization": f"Bearer {material.token}"}
    assert (await stack.http.get("/userinfo", headers=bearer)).status_code == 200
    before = len(listener.accepted)
    proxied = await stack.http.get(PROXY_PATH, headers=bearer)
    assert proxied.status_code == 502  # past authentication: the listener drops it
    assert len(listener.accepted) > before
    assert (await _introspect(stack, material.token))["active"] is True


# The real token is a proxy token without `openid`: /userinfo, which also takes OpenID tokens
# for any audience (OIDC Core 5.3), checks its audience as the proxy does.
@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
@pytest.mark.parametrize("where", ["userinfo", "proxy"])
async def test_a_forged_token_is_refused(
    forged_stack: tuple[Stack, Material], listener: RecordingListener, forge: Forge, where: str
) -> None:
    stack, material = forged_stack
    token = forge(material)
    assert token != material.token
    before = len(listener.accepted)
    path = "/userinfo" if where == "userinfo" else PROXY_PATH
    answer = await stack.http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_token"
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert "resource_metadata=" in challenge
    assert len(listener.accepted) == before, "nothing reached IB"


# Real signatures of live grants for another or no audience: introspection accepts any audience
# and reports it, for the resource server to check (RFC 7662 2.2); it is the bridge's own
# signature, so nothing here is a forgery an attacker without the bridge's key could make.
INTROSPECTION_ACTIVE = {
    "third-party-resource-token": [THIRD_PARTY],
    "wrong-aud": ["https://evil.example/api"],
    "missing-aud": [],
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_token_introspects_inactive(
    forged_stack: tuple[Stack, Material], forge: Forge, request: pytest.FixtureRequest
) -> None:
    stack, material = forged_stack
    name = request.node.callspec.id
    body = await _introspect(stack, forge(material))
    if name in INTROSPECTION_ACTIVE:
        assert body["active"] is True
        assert body.get("aud") == INTROSPECTION_ACTIVE[name]
        return
    assert body == {"active": False}

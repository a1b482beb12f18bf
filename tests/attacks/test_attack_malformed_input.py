"""Malformed input on every operation of openapi.yaml: a table of hostile payload kinds (empty,
huge, NUL, invalid UTF-8, wrong content type, duplicated parameters, deeply nested JSON, JSON of
the wrong type, garbage, overlong header values) sent to each operation as a signed-in caller
would send it (bearer token, login cookie and CSRF token where the operation takes them), so
that the input reaches the parsers behind the authentication.

Never a 5xx that is the bridge's own fault (a 502 from the proxy is IB not being reachable
in-process, which the spec documents); every status is one the spec documents for that
operation, with a body of a media type the spec gives for it (JSON errors, HTML pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ib_oauth_bridge.routing import load_spec, operations
from inprocess_flow import authorize_path, form_value, pkce_pair, tokens
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

SPEC = load_spec()
OPERATIONS = {op.operation_id: op for op in operations(SPEC)}
PATH_VALUES = {"path": "api/3.0.0/BnK4JV/resource.limit(1)"}
STATIC_PATH = "style.css"


@dataclass
class Payload:
    """The hostile part of a request: query string, body bytes, content type, extra headers."""

    query: bytes = b""
    body: bytes | None = None
    content_type: str | None = "operation"  # "operation": the operation's own media type
    headers: dict[str, str] = field(default_factory=dict)


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
DEEP = 100_000


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


PAYLOADS: dict[str, Callable[[str | None], Payload]] = {
    "empty": lambda ct: Payload(body=b""),
    "empty-with-no-content-type": lambda ct: Payload(body=b"", content_type=None),
    "huge-body": lambda ct: Payload(body=b"a=" + b"x" * (2 * 1024 * 1024)),
    "huge-query": lambda ct: Payload(query=b"q=" + b"x" * 60_000),
    "nul-in-query": lambda ct: Payload(query=b"client_id=%00&state=%00"),
    "nul-in-body": lambda ct: Payload(
        body=b'{"client_name": "a\\u0000b", "redirect_uris": ["https://a.example/\\u0000"]}'
        if ct == JSON
        else b"grant_type=%00&token=%00&csrf_token=%00&platform_url=%00"
    ),
    "raw-nul-bytes": lambda ct: Payload(body=b"\x00" * 64),
    "invalid-utf8-query": lambda ct: Payload(query=b"client_id=%ff%fe&redirect_uri=%c0%af"),
    "invalid-utf8-body": lambda ct: Payload(
        body=b'{"client_name": "\xff\xfe"}' if ct == JSON else b"grant_type=\xff\xfe&token=%ff"
    ),
    "wrong-content-type": lambda ct: Payload(
        body=b"grant_type=refresh_token" if ct == JSON else b'{"grant_type": "x"}',
        content_type=FORM if ct == JSON else JSON,
    ),
    "multipart-content-type": lambda ct: Payload(
        body=b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    ),
    "content-type-with-bad-charset": lambda ct: Payload(
        body=b"a=b", content_type=f"{ct or FORM}; charset=utf-7"
    ),
    "duplicated-parameters": lambda ct: Payload(
        query=b"client_id=a&client_id=b&state=1&state=2",
        body=b'{"redirect_uris": ["https://a.example/cb"], "redirect_uris": 1}'
        if ct == JSON
        else b"grant_type=a&grant_type=b&token=x&token=y&csrf_token=a&csrf_token=b",
    ),
    "deeply-nested-json": lambda ct: Payload(body=nested(DEEP), content_type=JSON),
    "deeply-nested-object": lambda ct: Payload(
        body=b'{"a":' * 5000 + b"1" + b"}" * 5000, content_type=JSON
    ),
    "json-array": lambda ct: Payload(body=b"[]", content_type=JSON),
    "json-string": lambda ct: Payload(body=b'"redirect_uris"', content_type=JSON),
    "json-number": lambda ct: Payload(body=b"1e999999", content_type=JSON),
    "json-null": lambda ct: Payload(body=b"null", content_type=JSON),
    "json-wrong-field-types": lambda ct: Payload(
        body=b'{"redirect_uris": "https://a.example/cb", "client_name": {"x": 1}, '
        b'"grant_types": 7, "scope": ["a"], "token_endpoint_auth_method": null}',
        content_type=JSON,
    ),
    "invalid-json": lambda ct: Payload(body=b'{"redirect_uris": [', content_type=JSON),
    "garbage-bytes": lambda ct: Payload(body=bytes(range(256)) * 4),
    "overlong-header": lambda ct: Payload(headers={"X-Filler": "x" * 70_000}),
    "overlong-authorization": lambda ct: Payload(
        headers={"Authorization": "Bearer " + "a" * 70_000}
    ),
    "many-headers": lambda ct: Payload(headers={f"X-H{i}": "1" for i in range(500)}),
    "overlong-cookie": lambda ct: Payload(headers={"Cookie": "ib_bridge_login=" + "a" * 70_000}),
    "non-ascii-header": lambda ct: Payload(headers={"X-Name": "é", "Accept-Language": "\xff"}),
}


@dataclass
class Caller:
    stack: Stack
    access_token: str
    csrf_token: str
    cookie: str


@pytest.fixture(scope="module")
async def caller(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Caller]:
    async with open_stack(
        Path(tmp_path_factory.mktemp("malformed")), registration_rate_limit="100000/minute"
    ) as stack:
        access_token = (await tokens(stack))["access_token"]
        async with stack.browser() as browser:
            _, challenge = pkce_pair()
            page = await browser.get(authorize_path(challenge, "s"))
            csrf = form_value(page.text, "csrf_token")
            cookie = next(iter(browser.cookies.values()))
        yield Caller(stack, access_token, csrf, cookie)
        await stack.bridge.upstream.aclose()


def _media_type(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    return next(iter(content), None)


def _documented(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    if status == 431:  # the spec's description: any endpoint, before its handler
        return dict(SPEC["components"]["responses"]["HeadersTooLarge"])
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    if response is None:
        response = responses.get("default")
    if response is None:
        return None
    while "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = SPEC["components"]["responses"][name]
    return dict(response)


def _raw(op_id: str) -> dict[str, Any]:
    op = OPERATIONS[op_id]
    raw: dict[str, Any] = SPEC["paths"][op.path][op.method.lower()]
    return raw


CASES = [
    pytest.param(op_id, kind, id=f"{op_id}-{kind}")
    for op_id in OPERATIONS
    for kind in PAYLOADS
]


@pytest.mark.parametrize(("op_id", "kind"), CASES)
async def test_malformed_input_gets_a_documented_answer(
    caller: Caller, op_id: str, kind: str
) -> None:
    op = OPERATIONS[op_id]
    raw = _raw(op_id)
    own_type = _media_type(raw)
    payload = PAYLOADS[kind](own_type)
    path_value = STATIC_PATH if op_id == "static_asset" else PATH_VALUES["path"]
    path = op.path.replace("{path}", path_value)
    headers: dict[str, str] = {"Accept": "application/json"} if op.path != "/authorize" else {}
    if op_id in {"userinfo"} or op_id.startswith("proxy_"):
        headers["Authorization"] = f"Bearer {caller.access_token}"
    if op_id.startswith("login_"):
        headers["Cookie"] = f"{caller.stack.bridge.login_cookie.name}={caller.cookie}"
        headers["Origin"] = caller.stack.settings.issuer
    body = payload.body
    if body is not None and op_id.startswith("login_") and kind not in {"raw-nul-bytes"}:
        body = body + b"&csrf_token=" + caller.csrf_token.encode()
    content_type = own_type if payload.content_type == "operation" else payload.content_type
    if body is not None and content_type is not None:
        headers["Content-Type"] = content_type
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw_headers += [(k.encode(), v.encode("utf-8")) for k, v in payload.headers.items()]
    url = path + ("?" + payload.query.decode("latin-1") if payload.query else "")
    request = caller.stack.http.build_request(op.method, url, content=body, headers=raw_headers)
    answer = await caller.stack.http.send(request)

    status = answer.status_code
    documented = _documented(raw, status)
    assert documented is not None, f"{status} is not documented for {op_id}: {answer.text[:300]}"
    assert status < 500 or status in {502, 503, 504}, answer.text[:300]
    if status == 502:
        assert op_id.startswith("proxy_"), answer.text[:300]
        if op.method != "HEAD":
            assert answer.json()["error"] == "bad_gateway"
    media = answer.headers.get("content-type", "").split(";")[0].strip()
    declared = documented.get("content")
    if declared and op.method != "HEAD" and answer.content:
        assert media in declared or "*/*" in declared, (media, list(declared))
    if status >= 400 and media == JSON and op.method != "HEAD":
        assert isinstance(answer.json().get("error"), str)
    assert caller.access_token not in answer.text


def test_every_operation_is_in_the_table() -> None:
    assert {case.values[0] for case in CASES} == set(OPERATIONS)  # type: ignore[union-attr]
    assert len(OPERATIONS) >= 26

"""Regressions: contract violations the Schemathesis run once found, one deterministic
reproduction each, so they stay fixed even when random generation does not hit them again.

Each test states the contract as openapi.yaml writes it.
"""

from __future__ import annotations

from email.message import Message
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from contract_support import open_login

from flow import LOOPBACK_REDIRECT
from ib_oauth_bridge.routing import load_spec
from servers import Bridge

SPEC = load_spec()


def _operation(path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = SPEC["paths"][path][method]
    return operation


def _documented(path: str, method: str) -> set[str]:
    return set(_operation(path, method)["responses"])


def _media_types(path: str, method: str, status: int) -> set[str]:
    response = _operation(path, method)["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return set(response.get("content", {}))


def _media_type(response: httpx.Response) -> str:
    message = Message()
    message["content-type"] = response.headers.get("content-type", "")
    return message.get_content_type()


@pytest.mark.parametrize(
    "query",
    [
        {"response_type": '"'},
        {"client_id": "mcp-public-client", "redirect_uri": LOOPBACK_REDIRECT,
         "response_type": "\u00bf"},
        {"client_id": "web-app", "response_type": "code", "redirect_uri": '"'},
        {"client_id": "mcp-public-client", "response_type": "code", "redirect_uri": "\u00a1"},
    ],
    ids=["response_type-no-client", "response_type", "redirect_uri-quote", "redirect_uri-latin1"],
)
def test_authorize_forbidden_description_characters(bridge: Bridge, query: dict[str, str]) -> None:
    response = httpx.get(f"{bridge.url}/authorize", params=query, timeout=10)
    assert str(response.status_code) in _documented("/authorize", "get"), response.text


@pytest.mark.parametrize(
    ("path", "form", "content_type"),
    [
        # A refused platform (not an IntelligenceBank host; no DNS lookup, no IB call).
        ("/authorize/platform", {"platform_url": "https://not-ib.example"}, None),
        # Bodies that are not a form.
        ("/authorize/platform", {}, "text/plain"),
        ("/authorize/continue", {}, "text/plain"),
        ("/authorize/cancel", {}, "text/plain"),
    ],
    ids=["platform-400", "platform-415", "continue-415", "cancel-415"],
)
def test_form_error_page_content_type(
    bridge: Bridge, path: str, form: dict[str, str], content_type: str | None
) -> None:
    login = open_login(bridge.url)
    data = {**form, "csrf_token": login.csrf_token}
    if content_type is None:
        request: dict[str, Any] = {"data": data}
    else:
        request = {"content": "csrf_token=" + login.csrf_token,
                   "headers": {"Content-Type": content_type}}
    response = httpx.post(
        f"{bridge.url}{path}", cookies={"ib_bridge_login": login.cookie}, timeout=10, **request
    )
    assert response.status_code in (400, 415), response.text
    assert _media_type(response) in _media_types(path, "post", response.status_code)


@pytest.mark.parametrize("authorization", ["Basic YTpi", "Bearer", "token"])
def test_userinfo_malformed_authorization(bridge: Bridge, authorization: str) -> None:
    response = httpx.get(
        f"{bridge.url}/userinfo", headers={"Authorization": authorization}, timeout=10
    )
    assert response.status_code != 200
    assert str(response.status_code) in _documented("/userinfo", "get"), response.text


def test_openapi_document_schema(bridge: Bridge) -> None:
    response = httpx.get(f"{bridge.url}/openapi.yaml", timeout=10)
    assert response.status_code == 200
    declared = _operation("/openapi.yaml", "get")["responses"]["200"]["content"]
    schema = declared["application/yaml"].get("schema", {})
    jsonschema_rs.validate(schema, yaml.safe_load(response.text))


def test_playground_max_length(bridge: Bridge) -> None:
    parameters = {p["name"]: p for p in _operation("/", "get")["parameters"]}
    limit = parameters["state"]["schema"].get("maxLength")
    if limit is None:
        return
    response = httpx.get(f"{bridge.url}/", params={"state": "s" * (limit + 1)}, timeout=10)
    assert 400 <= response.status_code < 500, response.status_code

"""Discovery documents, keys, health, the served contract and CORS."""

from __future__ import annotations

import httpx
import yaml

from servers import Bridge


def test_authorization_server_metadata(bridge: Bridge) -> None:
    metadata = httpx.get(f"{bridge.url}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == bridge.url
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "plain" not in metadata["code_challenge_methods_supported"]
    assert metadata == httpx.get(f"{bridge.url}/.well-known/openid-configuration").json()


def test_protected_resource_metadata(bridge: Bridge) -> None:
    for path in ("/.well-known/oauth-protected-resource",
                 "/.well-known/oauth-protected-resource/proxy"):
        document = httpx.get(bridge.url + path).json()
        assert document["resource"] == f"{bridge.url}/proxy"
        assert document["authorization_servers"] == [bridge.url]


def test_jwks_has_only_public_keys(bridge: Bridge) -> None:
    keys = httpx.get(f"{bridge.url}/jwks.json").json()["keys"]
    assert keys
    assert all("d" not in key and key["kty"] == "EC" and key["kid"] for key in keys)


def test_health_and_readiness(bridge: Bridge) -> None:
    assert httpx.get(f"{bridge.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{bridge.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "keys": "ok"}


def test_the_contract_is_served(bridge: Bridge) -> None:
    served = httpx.get(f"{bridge.url}/openapi.yaml")
    assert served.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(served.text)["openapi"].startswith("3.1")


def test_cors_follows_the_allow_list(bridge: Bridge) -> None:
    preflight = {"Origin": "https://spa.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    allowed = httpx.options(f"{bridge.url}/token", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://spa.example"
    refused = httpx.options(f"{bridge.url}/token",
                            headers={**preflight, "Origin": "https://evil.example"})
    assert refused.headers.get("access-control-allow-origin") != "https://evil.example"
    # The login page is never cross-origin.
    page = httpx.options(f"{bridge.url}/authorize/platform", headers=preflight)
    assert "access-control-allow-origin" not in page.headers


def test_unknown_paths_and_methods_get_json_errors(bridge: Bridge) -> None:
    missing = httpx.get(f"{bridge.url}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = httpx.delete(f"{bridge.url}/token")
    assert wrong.status_code == 405


def test_static_files_cannot_escape(bridge: Bridge) -> None:
    assert httpx.get(f"{bridge.url}/static/style.css").status_code == 200
    script = httpx.get(f"{bridge.url}/static/login.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/templates.py"):
        assert httpx.get(bridge.url + path).status_code == 404

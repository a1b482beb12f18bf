"""`ib-oauth-bridge keys rotate-signing`, `keys rotate-encryption` and `store reseal` as an
operator runs them: against a bridge whose settings name key files, against the dev stack's data
directory, and with keys given inline (printed, nothing written). Live pick-up without a
restart is proven in-process with a moved clock (tests/inprocess/test_key_rotation.py); here the
bridge restarts between steps, so no test waits on real time."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from flow import authorize, exchange, refresh
from ib_oauth_bridge import devsecrets
from ib_oauth_bridge.oauth.keys import generate_signing_key
from servers import CLI, Bridge, Emulator, bridge_env, free_port


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def kid_of(token: str) -> str:
    return str(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"])


def audit_lines(stdout: str) -> list[dict[str, object]]:
    """The audit events a command wrote (IB_BRIDGE_AUDIT_LOG defaults to stdout)."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "key.rotated"]


def private_material(keys_dir: Path) -> set[str]:
    """Every private value in the key files, to look for in output that must not have them."""
    found: set[str] = set()
    for path in keys_dir.iterdir():
        text = path.read_text()
        if path.suffix in {".jwk", ".jwks"}:
            data = json.loads(text)
            found |= {k["d"] for k in data.get("keys", [data])}
        else:
            found |= {line for line in text.splitlines() if line and not line.startswith("#")}
    return found


@pytest.fixture
def keyed_bridge(emulator: Emulator, tmp_path: Path) -> Bridge:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "signing.jwk").write_text(json.dumps(generate_signing_key().as_dict(private=True)))
    (keys / "encryption.key").write_text(
        base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n"
    )
    port = free_port()
    env = bridge_env(
        port,
        emulator,
        tmp_path,
        IB_BRIDGE_SIGNING_KEY=str(keys / "signing.jwk"),
        IB_BRIDGE_PREVIOUS_SIGNING_KEYS=str(keys / "previous-signing.jwks"),
        IB_BRIDGE_ENCRYPTION_KEY=str(keys / "encryption.key"),
        IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS=str(keys / "previous-encryption.keys"),
    )
    return Bridge(port, tmp_path, env)


def test_rotating_both_keys_of_a_running_deployment(
    keyed_bridge: Bridge, emulator: Emulator, tmp_path: Path
) -> None:
    bridge, keys = keyed_bridge, tmp_path / "keys"
    bridge.start()
    try:
        tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url)).json()
        old_kid = kid_of(tokens["access_token"])
        signing = run_cli("keys", "rotate-signing", "--publish-ahead", "0", env=bridge.env)
        encryption = run_cli("keys", "rotate-encryption", env=bridge.env)
    finally:
        bridge.stop()
    assert signing.returncode == 0, signing.stderr
    assert encryption.returncode == 0, encryption.stderr
    (signed,) = audit_lines(signing.stdout)
    (sealed,) = audit_lines(encryption.stdout)
    assert (signed["reason"], signed["previous_key_id"]) == ("signing", old_kid)
    assert signed["key_id"] != old_kid
    assert sealed["reason"] == "encryption"
    secrets_ = private_material(keys)
    for output in (signing.stdout, signing.stderr, encryption.stdout, encryption.stderr):
        assert not any(secret in output for secret in secrets_)
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in keys.iterdir())

    bridge.start()
    try:
        jwks = httpx.get(f"{bridge.url}/jwks.json").json()
        assert {k["kid"] for k in jwks["keys"]} == {old_kid, signed["key_id"]}
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        # Signed by the previous key, its sid sealed by the previous key: still works.
        assert httpx.get(f"{bridge.url}/userinfo", headers=bearer).status_code == 200
        refreshed = refresh(bridge.url, tokens["refresh_token"]).json()
        assert kid_of(refreshed["access_token"]) == signed["key_id"]
        resealed = run_cli("store", "reseal", env=bridge.env)
    finally:
        bridge.stop()
    assert resealed.returncode == 0, resealed.stderr
    # The sid was re-sealed when /userinfo used it. The finished login's sealed texts are
    # bound to the browser's login id: left to expire with the login.
    assert "grant_sid: 0 re-sealed, 1 already current" in resealed.stdout
    assert "values belong to logins" in resealed.stdout

    (keys / "previous-encryption.keys").unlink()  # the old encryption key, gone
    bridge.start()
    try:
        bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
        assert httpx.get(f"{bridge.url}/userinfo", headers=bearer).status_code == 200
    finally:
        bridge.stop()
    assert "Traceback" not in bridge.logs()


def test_rotating_the_dev_stacks_keys_in_its_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dev = devsecrets.load_or_create(data)
    old_kid = json.loads(Path(dev.signing_key).read_text())["kid"]
    old_encryption = Path(dev.encryption_key).read_text().strip()
    env = {"PATH": "/usr/bin:/bin"}
    signing = run_cli("keys", "rotate-signing", "--data-dir", str(data), env=env)
    encryption = run_cli("keys", "rotate-encryption", "--data-dir", str(data), env=env)
    assert signing.returncode == 0, signing.stderr
    assert encryption.returncode == 0, encryption.stderr
    new_key = json.loads(Path(dev.signing_key).read_text())
    assert new_key["kid"] != old_kid
    assert "sign_after" in new_key  # published ahead by default
    previous = json.loads(Path(dev.previous_signing_keys).read_text())["keys"]
    assert [(k["kid"], "retire_after" in k) for k in previous] == [(old_kid, True)]
    assert Path(dev.encryption_key).read_text().strip() != old_encryption
    assert old_encryption in Path(dev.previous_encryption_keys).read_text()
    resealed = run_cli("store", "reseal", "--data-dir", str(data), env=env)
    assert resealed.returncode == 0, resealed.stderr
    assert "grant_sid: 0 re-sealed" in resealed.stdout
    assert "nothing left under a previous key: it can be removed" in resealed.stdout


def test_inline_keys_are_printed_as_settings_not_written(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "IB_BRIDGE_SIGNING_KEY": json.dumps(generate_signing_key().as_dict(private=True)),
        "IB_BRIDGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    signing = run_cli("keys", "rotate-signing", env=env)
    encryption = run_cli("keys", "rotate-encryption", env=env)
    assert signing.returncode == 0, signing.stderr
    assert "IB_BRIDGE_SIGNING_KEY='{" in signing.stdout
    assert "IB_BRIDGE_PREVIOUS_SIGNING_KEYS='{\"keys\":[" in signing.stdout
    assert f"IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS='{env['IB_BRIDGE_ENCRYPTION_KEY']}'" in (
        encryption.stdout
    )
    assert audit_lines(signing.stdout) == []  # nothing rotated yet: the operator deploys it


def test_a_data_directory_without_a_dev_stack_is_refused(tmp_path: Path) -> None:
    answer = run_cli("keys", "rotate-signing", "--data-dir", str(tmp_path), env={"PATH": "/bin"})
    assert answer.returncode == 2
    assert "holds no dev stack" in answer.stderr

"""Dev mode's secrets: generated once into the data directory and reused on every start.

So a `dev` restart keeps tokens and flows in progress valid. Never used outside dev mode, where
the operator supplies every secret through settings.

The keys are files, laid out as an operator would in production (settings pointing at key
files), so `ib-oauth-bridge keys rotate-* --data-dir DIR` rotates them in place and a running
dev server picks the rotation up. The cookie secret stays in `dev-secrets.json`; a file from
before the key files existed has the keys inline too, and they move to their files.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from .oauth.keys import generate_signing_key
from .store.keyfiles import write_private_file

FILE_NAME = "dev-secrets.json"
SIGNING_KEY_FILE = "signing-key.jwk"
PREVIOUS_SIGNING_KEYS_FILE = "previous-signing-keys.jwks"
ENCRYPTION_KEY_FILE = "encryption.key"
PREVIOUS_ENCRYPTION_KEYS_FILE = "previous-encryption.keys"


@dataclass(frozen=True, slots=True)
class DevSecrets:
    signing_key: str  # path of the private JWK's file
    previous_signing_keys: str  # path of the previous keys' JWK Set (missing until a rotation)
    encryption_key: str  # path of the file holding the key, base64url
    previous_encryption_keys: str  # path (missing until a rotation)
    cookie_secret: str


def load_or_create(data_dir: Path) -> DevSecrets:
    path = data_dir / FILE_NAME
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    signing = data_dir / SIGNING_KEY_FILE
    if not signing.exists():
        jwk = data.get("signing_key") or json.dumps(generate_signing_key().as_dict(private=True))
        write_private_file(signing, jwk + "\n")
    encryption = data_dir / ENCRYPTION_KEY_FILE
    if not encryption.exists():
        key = data.get("encryption_key") or base64.urlsafe_b64encode(
            secrets.token_bytes(32)
        ).decode("ascii")
        write_private_file(encryption, key + "\n")
    cookie_secret = data.get("cookie_secret") or secrets.token_urlsafe(32)
    if set(data) != {"cookie_secret"}:
        # New, or from before the key files: keep only the cookie secret here, so that no
        # copy of a key outlives its rotation. Owner-only from the first byte.
        write_private_file(path, json.dumps({"cookie_secret": cookie_secret}))
    return DevSecrets(
        signing_key=str(signing),
        previous_signing_keys=str(data_dir / PREVIOUS_SIGNING_KEYS_FILE),
        encryption_key=str(encryption),
        previous_encryption_keys=str(data_dir / PREVIOUS_ENCRYPTION_KEYS_FILE),
        cookie_secret=cookie_secret,
    )

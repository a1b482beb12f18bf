"""Dev mode's secrets: generated once into the data directory and reused on every start.

So a `dev` restart keeps tokens and flows in progress valid. Never used outside dev mode, where
the operator supplies every secret through settings.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .oauth.keys import generate_signing_key

FILE_NAME = "dev-secrets.json"


@dataclass(frozen=True, slots=True)
class DevSecrets:
    signing_key: str  # private JWK, JSON
    encryption_key: str  # base64url, 32 bytes
    cookie_secret: str


def load_or_create(data_dir: Path) -> DevSecrets:
    path = data_dir / FILE_NAME
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return DevSecrets(data["signing_key"], data["encryption_key"], data["cookie_secret"])
    data_dir.mkdir(parents=True, exist_ok=True)
    created = DevSecrets(
        signing_key=json.dumps(generate_signing_key().as_dict(private=True)),
        encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"),
        cookie_secret=secrets.token_urlsafe(32),
    )
    # Owner-only from the first byte: the file holds private keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "signing_key": created.signing_key,
                "encryption_key": created.encryption_key,
                "cookie_secret": created.cookie_secret,
            },
            handle,
        )
    return created

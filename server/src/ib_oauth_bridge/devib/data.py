"""Deterministic demo data for the IB emulator and the generated file content used by downloads.

Same input, same bytes, on every machine: tests compare against these without storing fixtures.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from .config import DemoUser

BLOCK_SIZE = 64 * 1024
SEED_RESOURCE_COUNT = 120
GENERATED_USER_COUNT = 20
_EPOCH = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)

_SUBJECTS = [
    "Brand guidelines",
    "Product shot",
    "Spring campaign",
    "Annual report",
    "Trade show banner",
    "Logo pack",
    "Team photo",
    "Explainer video",
    "Press release",
    "Packaging mockup",
    "Social tile",
    "Newsletter header",
    "Store window",
    "Podcast cover",
    "Webinar recording",
]
_QUALIFIERS = ["final", "draft", "v2", "EMEA", "APAC", "US", "print", "web", "hi-res", "2024"]
_FOLDERS = ["Marketing", "Brand", "Sales", "Events", "Product", "Archive"]
_TYPES = [
    ("pdf", 2_400_000),
    ("jpg", 850_000),
    ("png", 420_000),
    ("mp4", 180_000_000),
    ("docx", 95_000),
    ("psd", 64_000_000),
    ("svg", 12_000),
]
_TAGS = [
    "logo",
    "campaign",
    "print",
    "social",
    "video",
    "approved",
    "internal",
    "hero",
    "seasonal",
    "legal",
]
_FIRST = [
    "Alan",
    "Barbara",
    "Claude",
    "Dorothy",
    "Edsger",
    "Frances",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Ken",
    "Shafi",
    "Tim",
    "Sophie",
    "Donald",
    "Jean",
    "Leslie",
    "Hedy",
]
_LAST = [
    "Turing",
    "Liskov",
    "Shannon",
    "Vaughan",
    "Dijkstra",
    "Allen",
    "McCarthy",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Thompson",
    "Goldwasser",
    "Berners-Lee",
    "Wilson",
    "Knuth",
    "Sammet",
    "Lamport",
    "Lamarr",
]


def iso(moment: datetime) -> str:
    """IB's timestamp style: ISO 8601, milliseconds, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def object_id(kind: str, n: int) -> str:
    """A stable 24-hex id shaped like IB's (MongoDB) ids."""
    return hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()[:24]


def seed_resources() -> list[dict[str, Any]]:
    rng = random.Random(1815)
    rows: list[dict[str, Any]] = []
    for n in range(SEED_RESOURCE_COUNT):
        name = f"{rng.choice(_SUBJECTS)} {rng.choice(_QUALIFIERS)} {n:03d}"
        ext, base_size = rng.choice(_TYPES)
        created = _EPOCH + timedelta(hours=rng.randrange(0, 24 * 300), seconds=n)
        updated = created + timedelta(hours=rng.randrange(0, 24 * 60), seconds=n)
        file_name = name.lower().replace(" ", "-") + "." + ext
        rows.append(
            {
                "_id": object_id("resource", n),
                "name": name,
                "folder": rng.choice(_FOLDERS),
                "file": {
                    "type": ext,
                    "name": file_name,
                    "size": base_size + rng.randrange(0, base_size // 2 + 1),
                    "hash": hashlib.sha256(file_name.encode()).hexdigest()[:32],
                },
                "createTime": iso(created),
                "lastUpdateTime": iso(updated),
                "tags": sorted(rng.sample(_TAGS, rng.randrange(0, 4))),
            }
        )
    return rows


def user_row(user: DemoUser, n: int) -> dict[str, Any]:
    moment = _EPOCH + timedelta(days=n, hours=n % 7)
    return {
        "_id": object_id("user", n),
        "uuid": user.useruuid,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "email": user.email,
        "status": "active",
        "createTime": iso(moment),
        "lastUpdateTime": iso(moment + timedelta(days=n % 13)),
    }


def seed_users(demo_users: list[DemoUser]) -> list[dict[str, Any]]:
    rows = [user_row(user, n) for n, user in enumerate(demo_users)]
    for i in range(GENERATED_USER_COUNT):
        n = len(demo_users) + i
        first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]
        generated = DemoUser(
            username=f"{first}.{last}".lower(),
            password="",  # listed only: an empty password never signs in
            firstname=first,
            lastname=last,
            email=f"{first}.{last}@example.com".lower(),
            useruuid=f"u-{object_id('uuid', n)[:12]}",
        )
        rows.append(user_row(generated, n))
    return rows


FILTERS: list[dict[str, Any]] = [
    {
        "_id": object_id("filter", 0),
        "name": "Needs review",
        "type": "review",
        "enableAutoReviews": True,
    },
    {
        "_id": object_id("filter", 1),
        "name": "Expiring soon",
        "type": "expiry",
        "enableAutoReviews": False,
    },
    {
        "_id": object_id("filter", 2),
        "name": "Legal approval",
        "type": "review",
        "enableAutoReviews": True,
    },
    {
        "_id": object_id("filter", 3),
        "name": "Brand assets",
        "type": "collection",
        "enableAutoReviews": False,
    },
]


@lru_cache(maxsize=16)
def _block(seed: int) -> bytes:
    # SHA-256 in counter mode: 2048 digests per 64 KiB block, computed once per seed.
    parts = [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(BLOCK_SIZE // 32)]
    return b"".join(parts)


def generated_bytes(size: int, seed: int = 0) -> Iterator[bytes]:
    """`size` deterministic bytes in chunks of at most 64 KiB; never holds more than one block."""
    if size < 0:
        raise ValueError("size must not be negative")
    block = _block(seed)
    full, rest = divmod(size, BLOCK_SIZE)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


def generated_sha256(size: int, seed: int = 0) -> str:
    digest = hashlib.sha256()
    for chunk in generated_bytes(size, seed):
        digest.update(chunk)
    return digest.hexdigest()

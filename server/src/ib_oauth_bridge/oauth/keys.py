"""Signing keys for access and ID tokens (RFC 9068 JWTs, ES256) and the JWK Set that publishes
them: a key ring with one current key and the previous ones.

The current key signs; previous keys only verify (and stay in /jwks.json), so tokens minted
before a rotation stay valid until they expire. A previous key may carry `retire_after` (Unix
seconds): from then on it is neither published nor accepted. A new signing key may carry
`sign_after`: it is published (and accepted) at once and signs only from then on, the first
previous key signing until then, so that caches of the JWK Set know a key before any token names
it. `ib-oauth-bridge keys rotate-signing` sets `sign_after` to the rotation time plus the max-age
of /jwks.json, and the old key's `retire_after` to that plus the longest access-token lifetime
plus a margin, by which time every token it signed has expired. A previous key without
`retire_after` stays until it is removed by hand.

Keys come from settings: `IB_BRIDGE_SIGNING_KEY` (a private JWK, inline or in a file) and
`IB_BRIDGE_PREVIOUS_SIGNING_KEYS` (inline JSON, a JWK or a JWK Set, or comma-separated paths of
files holding one). When some are files, the ring reads them again when they change (looked at
at most every `keyfiles.CHECK_INTERVAL` seconds), so a rotation needs no restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

from ..clock import Clock, system_clock
from ..store.keyfiles import FileWatch

ALGORITHM = "ES256"
RETIRE_AFTER = "retire_after"  # the member of a previous key's JWK that says when it goes
SIGN_AFTER = "sign_after"  # the member of a new signing key's JWK: published now, signs then

log = logging.getLogger("ib_oauth_bridge.keys")


class SigningKeyError(ValueError):
    """A signing key that cannot be used. The message never contains key material."""


def generate_signing_key() -> ECKey:
    return ECKey.generate_key(
        "P-256", parameters={"use": "sig", "alg": ALGORITHM}, private=True, auto_kid=True
    )


def load_private_jwk(value: str) -> ECKey:
    """A private EC P-256 JWK given inline as JSON or as the path of a file holding it."""
    return load_signing_key(value)[0]


def load_signing_key(value: str) -> tuple[ECKey, float | None]:
    """The signing key (inline JSON or a file) and its `sign_after`, if it has one."""
    text = value if is_inline_json(value) else _read_file(value)
    try:
        data = json.loads(text)
    except ValueError:
        raise SigningKeyError("the signing key is not valid JSON") from None
    sign_after = _pop_time(data, SIGN_AFTER, "the signing key")
    return _import_private_jwk(data), sign_after


def _pop_time(data: object, name: str, source: str) -> float | None:
    """Remove the time member `name` (Unix seconds) from a JWK object and return it."""
    if not isinstance(data, dict):
        return None
    value = data.pop(name, None)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SigningKeyError(f"{source}: '{name}' must be a number (Unix seconds)")
    return None if value is None else float(value)


def dump_signing_key(key: ECKey, sign_after: float | None = None) -> str:
    data: dict[str, Any] = dict(key.as_dict(private=True))
    if sign_after is not None:
        data[SIGN_AFTER] = int(sign_after)
    return json.dumps(data)


def is_inline_json(value: str) -> bool:
    """Whether a key setting holds JSON itself rather than a file's path."""
    return value.lstrip().startswith("{")


def _import_private_jwk(data: object) -> ECKey:
    try:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        key = ECKey.import_key(data, parameters={"use": "sig", "alg": ALGORITHM})
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"the signing key is not a valid EC JWK ({type(exc).__name__})"
        ) from None
    if not key.is_private:
        raise SigningKeyError("the signing key must be a private JWK (it has no 'd')")
    if key.get("crv") != "P-256":
        raise SigningKeyError("the signing key must be on curve P-256 (for ES256)")
    if not key.kid:
        key.ensure_kid()
    return key


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SigningKeyError(f"cannot read key file {path!r}: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class PreviousKey:
    """A key that no longer signs: it verifies, and is published, until `retire_after` (Unix
    seconds; None: until removed by hand)."""

    key: ECKey
    retire_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The private JWK with its `retire_after`, as a previous-keys file holds it."""
        data: dict[str, Any] = dict(self.key.as_dict(private=True))
        if self.retire_after is not None:
            data[RETIRE_AFTER] = int(self.retire_after)
        return data


def parse_previous_keys(text: str, source: str) -> list[PreviousKey]:
    """Previous keys from JSON: one JWK, or a JWK Set (`{"keys": [...]}`), each key with an
    optional `retire_after`."""
    try:
        data = json.loads(text) if text.strip() else {"keys": []}
    except ValueError:
        raise SigningKeyError(f"{source} is not valid JSON") from None
    if isinstance(data, dict) and "keys" in data:
        items = data["keys"]
        if not isinstance(items, list):
            raise SigningKeyError(f"{source}: 'keys' must be a list of JWKs")
    else:
        items = [data]
    keys = []
    for item in items:
        if not isinstance(item, dict):
            raise SigningKeyError(f"{source}: every key must be a JWK object")
        item = dict(item)
        retire_after = _pop_time(item, RETIRE_AFTER, source)
        keys.append(PreviousKey(_import_private_jwk(item), retire_after))
    return keys


def read_previous_keys(value: str) -> list[PreviousKey]:
    """The previous keys one setting entry names: inline JSON, or a file (missing: none yet,
    as before the first rotation)."""
    if is_inline_json(value):
        return parse_previous_keys(value, "IB_BRIDGE_PREVIOUS_SIGNING_KEYS")
    try:
        text = Path(value).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SigningKeyError(f"cannot read key file {value!r}: {exc.strerror}") from None
    return parse_previous_keys(text, f"key file {value!r}")


def dump_previous_keys(keys: Iterable[PreviousKey]) -> str:
    return json.dumps({"keys": [key.to_dict() for key in keys]}, indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class SigningKeySource:
    """Where the signing keys come from: the two settings, as given."""

    signing_key: str
    previous: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        values = (self.signing_key, *self.previous)
        return tuple(Path(v) for v in values if not is_inline_json(v))

    def load(self) -> KeyState:
        current, sign_after = load_signing_key(self.signing_key)
        previous: dict[str, PreviousKey] = {}
        for entry in self.previous:
            for key in read_previous_keys(entry):
                if key.key.kid != current.kid:  # mid-rotation, a key may be in both files
                    previous.setdefault(key.key.kid or "", key)
        return KeyState(current, tuple(previous.values()), sign_after)


@dataclass(frozen=True, slots=True)
class KeyState:
    """The keys as configured: the newest key (signing from `sign_after`, when set; until
    then the first unretired previous key signs) and the previous ones, newest first."""

    newest: ECKey
    previous: tuple[PreviousKey, ...] = ()
    sign_after: float | None = None


@dataclass(frozen=True, slots=True)
class _View:
    """The ring as it stands until `valid_until` (the next retirement) or the next reload."""

    current: ECKey
    previous: tuple[ECKey, ...]
    signing_set: KeySet
    verification_set: KeySet
    kids: frozenset[str]
    valid_until: float


class SigningKeys:
    """The key ring: the current key signs, unretired previous keys verify; all of them are
    published. A new key with `sign_after` is published (and verifies) at once and signs from
    then on, so that caches of /jwks.json know it before any token names it. Safe to share
    between the event loop and Authlib's worker threads."""

    def __init__(
        self,
        current: ECKey,
        previous: Iterable[ECKey | PreviousKey] = (),
        *,
        clock: Clock = system_clock,
        source: SigningKeySource | None = None,
        sign_after: float | None = None,
    ) -> None:
        self._clock = clock
        self._source = source
        self._watch = FileWatch(source.files if source else (), clock)
        self._lock = threading.Lock()
        self._state = KeyState(
            current,
            tuple(p if isinstance(p, PreviousKey) else PreviousKey(p) for p in previous),
            sign_after,
        )
        self._view = self._make_view()

    @classmethod
    def from_settings(
        cls, signing_key: str, previous: tuple[str, ...] = (), *, clock: Clock = system_clock
    ) -> SigningKeys:
        source = SigningKeySource(signing_key, previous)
        state = source.load()
        return cls(
            state.newest, state.previous, clock=clock, source=source, sign_after=state.sign_after
        )

    def _make_view(self) -> _View:
        now = self._clock()
        state = self._state
        live = [p for p in state.previous if p.retire_after is None or p.retire_after > now]
        changes = [p.retire_after for p in live if p.retire_after is not None]
        current = state.newest
        if state.sign_after is not None and state.sign_after > now:
            changes.append(state.sign_after)
            if live:  # published ahead: the key it replaces signs until then
                current = live[0].key
        keys = (state.newest, *(p.key for p in live))
        return _View(
            current=current,
            previous=tuple(key for key in keys if key is not current),
            signing_set=KeySet([current]),
            verification_set=KeySet(list(keys)),
            kids=frozenset(key.kid or "" for key in keys),
            valid_until=min(changes, default=float("inf")),
        )

    def _current_view(self) -> _View:
        view = self._view
        reload = self._watch.changed()
        if not reload and self._clock() < view.valid_until:
            return view
        with self._lock:
            if reload and self._source is not None:
                try:
                    self._state = self._source.load()
                except SigningKeyError as exc:
                    log.warning("signing keys not reloaded", extra={"reason": str(exc)})
                else:
                    log.info("signing keys reloaded", extra={"kid": self._state.newest.kid})
            self._view = view = self._make_view()
        return view

    @property
    def current(self) -> ECKey:
        return self._current_view().current

    @property
    def previous(self) -> tuple[ECKey, ...]:
        """The previous keys not retired yet."""
        return self._current_view().previous

    @property
    def signing_set(self) -> KeySet:
        """Only the current key, so joserfc signs with it and names its kid."""
        return self._current_view().signing_set

    @property
    def verification_set(self) -> KeySet:
        return self._current_view().verification_set

    def knows(self, kid: str | None) -> bool:
        """Whether a token naming `kid` may still be accepted (the key is not retired)."""
        return kid is not None and kid in self._current_view().kids

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set served at /jwks.json: public halves only, retired keys left out."""
        view = self._current_view()
        return {"keys": [key.as_dict(private=False) for key in (view.current, *view.previous)]}

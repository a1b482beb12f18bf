"""Which IB hosts the bridge may talk to: validation of user-typed platform URLs and of the API
URL IB reports back (IB-API.md section 3).

The platform host comes from user input, and the bridge sends a credential (the sid) to it, so
it is checked before any request leaves: https only, a configured host pattern, no IP literal,
and no name that resolves to a private, loopback or otherwise internal address (the bridge's one
definition, `outbound.AddressGuard`). In dev mode the emulator's own URLs are allowed as they are.

This check alone cannot stop DNS rebinding (the name may resolve differently a moment later):
every connection the bridge then makes to IB goes through the same guard and to the address it
checked (`outbound.pinned_transport` for the browser login, `ib.upstream` for the proxy).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..outbound import AddressGuard, AddressRefused

MAX_URL_LENGTH = 2048
# A bare tenant name as people type it ("acme"): one DNS label, nothing else.
_TENANT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
# A pattern that names exactly one domain's tenants: "*.intelligencebank.com".
_TENANT_PATTERN = re.compile(r"^\*\.((?:[a-z0-9-]+\.)+[a-z0-9-]+)$", re.IGNORECASE)


class PlatformURLError(ValueError):
    """A platform URL the bridge refuses; the message is shown to the user as it is."""


@dataclass(frozen=True, slots=True)
class HostPolicy:
    patterns: tuple[str, ...]
    dev_urls: tuple[str, ...] = ()  # origins allowed as-is (dev mode: the emulator)
    guard: AddressGuard = field(default_factory=AddressGuard)

    @property
    def tenant_domain(self) -> str | None:
        """The domain a bare tenant name belongs to ("acme" means acme.<domain>): only when
        that is unambiguous, that is, when the one configured pattern is `*.<domain>`."""
        if len(self.patterns) != 1:
            return None
        match = _TENANT_PATTERN.match(self.patterns[0])
        return match.group(1).lower() if match else None

    @property
    def example(self) -> str:
        """An address of the expected form, for messages."""
        domain = self.tenant_domain or "intelligencebank.com"
        return f"https://company.{domain}"

    def _not_an_address(self) -> PlatformURLError:
        return PlatformURLError(
            f"That doesn't look like a web address. Type your IntelligenceBank address as "
            f"you open it in your browser, for example {self.example}."
        )

    def normalize(self, raw: str) -> str:
        """The origin (scheme://host[:port]) of a platform URL as people type it: a bare tenant
        name (`acme`, when `tenant_domain` makes that unambiguous), a host, or a URL with any
        path, query or trailing slash; spaces around are ignored. Anything else raises
        PlatformURLError with a message that says what is expected."""
        text = raw.strip()
        if not text:
            raise PlatformURLError(
                f"Enter your IntelligenceBank address, for example {self.example}."
            )
        if len(text) > MAX_URL_LENGTH or any(ord(ch) < 0x21 for ch in text):
            raise self._not_an_address()
        if "://" not in text and _TENANT_NAME.match(text):
            domain = self.tenant_domain
            if domain is None:
                raise PlatformURLError(
                    f"Type the whole address, for example {self.example}, not only the "
                    "company name."
                )
            text = f"{text}.{domain}"
        if "://" not in text:
            text = "https://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise self._not_an_address() from None
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise self._not_an_address()
        if parts.username or parts.password:
            raise PlatformURLError("The address must not contain a user name or password.")
        origin = f"{parts.scheme}://{_host_for_url(host)}" + (f":{port}" if port else "")
        if origin in self.dev_urls:
            return origin
        if parts.scheme != "https":
            raise PlatformURLError(
                f"The address must start with https://, for example {self.example}."
            )
        if _is_ip_literal(host):
            raise PlatformURLError("Use your IntelligenceBank host name, not an IP address.")
        if not self.host_allowed(host):
            allowed = " or ".join(self.patterns) or "no host"
            raise PlatformURLError(
                f"{host} is not an IntelligenceBank address (expected {allowed}, for example "
                f"{self.example})."
            )
        return origin

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in self.patterns)

    async def check_resolves_publicly(self, origin: str) -> None:
        """Refuse a host whose addresses include any internal one (SSRF guard)."""
        if origin in self.dev_urls:
            return
        parts = urlsplit(origin)
        host = parts.hostname or ""
        try:
            await self.guard.addresses(host, parts.port or 443)
        except AddressRefused as refused:
            if refused.not_found:
                raise PlatformURLError(f"{host} could not be found. Check the address.") from None
            raise PlatformURLError(
                f"{host} points to an internal address and is refused."
            ) from None

    async def check_api_url(self, api_v3_url: str) -> str:
        """IB's reported apiV3url as an origin; it must pass the same policy as the platform,
        resolution included, since the proxy will send the sid there too."""
        origin = self.normalize(api_v3_url)
        await self.check_resolves_publicly(origin)
        return origin


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host.lower()

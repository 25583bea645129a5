"""The reverse proxy's headers, trusted only from the proxy.

With ``PROXY_FIX`` on, a request whose peer (``REMOTE_ADDR``) is one of ``PROXY_IPS`` has its
client address, scheme and host taken from the proxy's ``X-Forwarded-For`` (the last hop, the
one the proxy appended), ``X-Forwarded-Proto`` and ``X-Forwarded-Host``. From any other peer
those headers are removed before the app sees them: a client that forges them is counted,
throttled and audited as the address it really connects from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxy_ips(value: str | Iterable[str]) -> list[Network]:
    """``"10.0.0.5, 10.0.1.0/24"`` or a list of the same; refuses what is not an address."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"PROXY_IPS: {item!r} is not an IP address or network") from None
    return networks


class TrustedProxy:
    def __init__(self, app, proxies: list[Network]) -> None:
        self.app = app
        self.proxies = proxies
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)

    def _from_proxy(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def __call__(self, environ, start_response):
        if self._from_proxy(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for key in [k for k in environ if k.startswith("HTTP_X_FORWARDED_") or k == "HTTP_FORWARDED"]:
            del environ[key]
        return self.app(environ, start_response)

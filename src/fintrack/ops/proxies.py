"""Which peers may tell us a client's address: the reverse proxy in front of us, never the client itself.

uvicorn applies FORWARDED_ALLOW_IPS to HTTP requests; the hub's own WebSocket handshake applies the same rule
here, so presence, logs and rate limits see the real client behind Traefik or nginx on every path.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse(spec: str) -> list[Network] | None:
    """`FORWARDED_ALLOW_IPS` — addresses and networks, comma-separated — as networks; None for "*" (everyone)."""
    entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
    if "*" in entries:
        return None
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (like 10.0.0.2 or 10.0.0.0/24)") from None
    return networks


class TrustedProxies:
    def __init__(self, spec: str) -> None:
        self.networks = parse(spec)

    def trusts(self, host: str) -> bool:
        if self.networks is None:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a unix socket path or a name: not an address a proxy can be trusted by
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the peer itself unless it is a trusted proxy, then the nearest address in
        X-Forwarded-For that is not one of ours (read from the right: the left part is whatever the client
        wrote, the right part was appended by our proxies)."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer

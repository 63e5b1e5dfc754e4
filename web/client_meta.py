"""What a review records about who sent it: the user agent and a salted hash of the IP.

The raw IP is never stored or published; the salt (``IP_HASH_SALT``) keeps the hash
from being reversed by trying all addresses. Behind a proxy, run uvicorn with
``--proxy-headers`` so the client address is the real one.
"""

from __future__ import annotations

import hashlib

MAX_USER_AGENT_CHARS = 500


def ip_hash(ip: str, salt: str) -> str:
    """Hex SHA-256 of salt + IP (empty for an unknown address)."""
    if not ip:
        return ""
    return hashlib.sha256(f"{salt}\x1f{ip}".encode()).hexdigest()


def client_meta(user_agent: str | None, ip: str | None, salt: str) -> dict[str, str]:
    """The ``meta`` of a submitted review: ``user_agent`` and ``ip_hash``."""
    return {"user_agent": (user_agent or "")[:MAX_USER_AGENT_CHARS], "ip_hash": ip_hash(ip or "", salt)}

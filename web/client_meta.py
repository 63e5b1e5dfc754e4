"""What a review records about who sent it: the user agent and a keyed hash of the IP.

The raw IP is never stored or published. The hash is an HMAC-SHA256 keyed with
``IP_HASH_SALT``: without the key nobody can test guesses (there are only 2^32 IPv4
addresses), and with the same key every replica and every restart gives one address
the same hash, so abuse can be traced without knowing who it was. ``reviewpulse web``
refuses to serve off loopback without the key; a single ``reviewpulse run`` keeps a
generated one in ``DATA_DIR/ip-hash.key``. Behind a proxy, see ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

MAX_USER_AGENT_CHARS = 500
KEY_FILE = "ip-hash.key"


def ip_hash(ip: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of the IP under ``key`` (empty for an unknown address)."""
    if not ip:
        return ""
    return hmac.new(key, ip.encode("utf-8"), hashlib.sha256).hexdigest()


def client_meta(user_agent: str | None, ip: str | None, key: bytes) -> dict[str, str]:
    """The ``meta`` of a submitted review: ``user_agent`` and ``ip_hash``."""
    return {"user_agent": (user_agent or "")[:MAX_USER_AGENT_CHARS], "ip_hash": ip_hash(ip or "", key)}


def persisted_key(data_dir: Path) -> bytes:
    """The key in ``data_dir/ip-hash.key``, created (mode 0600) by the first process that needs it.

    Written to a temporary file and hard-linked into place, so a process starting at the
    same moment reads either nothing (and links its own) or a complete key.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()


def ip_hash_key(secret: str, data_dir: Path) -> bytes:
    """``IP_HASH_SALT`` when set, else the key persisted under ``DATA_DIR`` (stable across restarts)."""
    return secret.encode("utf-8") if secret else persisted_key(data_dir)

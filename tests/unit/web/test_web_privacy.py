"""Private data stays private (issue 10, items 5-6): IP hashes are an HMAC with a key."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from web.client_meta import ip_hash

pytestmark = pytest.mark.timeout(120)


def test_ip_hash_is_a_keyed_hmac() -> None:
    expected = hmac.new(b"the key", b"198.51.100.4", hashlib.sha256).hexdigest()
    assert ip_hash("198.51.100.4", b"the key") == expected
    assert ip_hash("", b"the key") == ""



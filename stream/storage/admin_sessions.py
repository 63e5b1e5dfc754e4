"""Admin sessions ended by a logout: a signed cookie cannot be taken back, so its id is remembered here.

The session cookie (Starlette's, signed with ``SESSION_SECRET``) holds a random session
id from the login. Logging out stores that id in ``admin_logouts`` (migration 6), and
every replica then refuses the cookie, also a copy of it kept elsewhere. Rows expire
after 30 days, well past the sessions' 8-hour life. A new admin password still ends
every session at once (``web.passwords.session_fingerprint``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from stream.storage.clickhouse import Storage


def end_session(storage: Storage, session_id: str) -> None:
    storage.client.insert("admin_logouts", [[session_id, datetime.now(UTC)]],
                          column_names=["session_id", "ended_at"])


def session_ended(storage: Storage, session_id: str) -> bool:
    rows = storage.query("SELECT count() AS n FROM admin_logouts WHERE session_id = {sid:String}",
                         {"sid": session_id})
    return bool(rows and int(rows[0]["n"]))

"""``/admin``: login, rate limit, sessions, filters, pagination, CSV export, escaping."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel.events import Kind, ScoredReview

ADMIN_PASSWORD = "correct horse battery staple"  # conftest.ADMIN_HASH is its hash

pytestmark = pytest.mark.timeout(120)


def login(client: Any, password: str = ADMIN_PASSWORD, next_path: str = "/admin") -> Any:
    return client.post("/admin/login", data={"password": password, "next": next_path}, follow_redirects=False)


@pytest.fixture
def stored_brand(storage: Any) -> str:
    brand = f"Admin-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    rows = [
        ScoredReview(
            kind=Kind.review, text=text, brand=brand, rating=rating, source="web", probs=[0.2, 0.3, 0.5],
            score=score, label=label, suggested_rating=min(int(score * 5 + 1), 5), model_version="t",
            ts=now, scored_at=now,
        )
        for text, rating, score, label in [
            ("<script>alert('x')</script> terrible", 1, 0.1, "bad"),
            ("=HYPERLINK(\"http://evil\") fine", 3, 0.5, "average"),
            ("great stuff", 4, 0.9, "good"),
        ]
    ]
    storage.insert_reviews(rows)
    return brand


def test_admin_without_login_redirects_to_login(client: Any) -> None:
    response = client.get("/admin?brand=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%3Fbrand%3Dx"
    assert client.get("/admin/reviews.csv", follow_redirects=False).status_code == 303
    assert 'name="password"' in client.get("/admin/login").text


def test_wrong_password_is_refused(client: Any) -> None:
    response = login(client, "guess")
    assert response.status_code == 401
    assert "Wrong password." in response.text
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_login_then_table_filters_and_escaping(client: Any, stored_brand: str) -> None:
    response = login(client, next_path="/admin?label=bad")
    assert response.status_code == 303 and response.headers["location"] == "/admin?label=bad"
    page = client.get("/admin", params={"brand": stored_brand})
    assert page.status_code == 200
    assert "3 matching" in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; terrible" in page.text
    assert "<script>alert" not in page.text
    bad_only = client.get("/admin", params={"brand": stored_brand, "label": "bad"}).text
    assert "1 matching" in bad_only and "great stuff" not in bad_only
    searched = client.get("/admin", params={"brand": stored_brand, "q": "GREAT"}).text
    assert "1 matching" in searched and "great stuff" in searched
    paged = client.get("/admin", params={"brand": stored_brand, "limit": 2, "offset": 2}).text
    assert "3–3 of 3" in paged and 'id="prev-page"' in paged


def test_bad_filter_shows_a_message(client: Any) -> None:
    login(client)
    page = client.get("/admin", params={"since": "last week"})
    assert page.status_code == 200
    assert "since: &#39;last week&#39; is not an ISO date" in page.text


def test_csv_export_follows_the_filter(client: Any, stored_brand: str) -> None:
    login(client)
    response = client.get("/admin/reviews.csv", params={"brand": stored_brand, "label": "average"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["brand"] for row in rows] == [stored_brand]
    assert rows[0]["text"] == "'=HYPERLINK(\"http://evil\") fine"  # formula neutralised
    assert rows[0]["rating"] == "3"


def test_logout_ends_the_session_on_the_server_for_every_replica(make_client: Any) -> None:
    client, replica = make_client(), make_client()
    login(client)
    cookie = client.cookies["reviewpulse_session"]
    assert replica.get("/admin", cookies={"reviewpulse_session": cookie}, follow_redirects=False).status_code == 200
    client.post("/admin/logout", follow_redirects=False)
    assert client.get("/admin", follow_redirects=False).status_code == 303
    for app in (client, replica):  # the old cookie, kept by someone, opens nothing any more
        app.cookies.clear()
        reused = app.get("/admin", cookies={"reviewpulse_session": cookie}, follow_redirects=False)
        assert reused.status_code == 303, "a logged-out session still opens /admin"
    login(client)
    assert client.get("/admin", follow_redirects=False).status_code == 200, "a new login works"


def test_login_is_rate_limited_per_ip(make_client: Any) -> None:
    client = make_client(admin_login_attempts=3)
    for _ in range(3):
        assert login(client, "wrong").status_code == 401
    blocked = login(client)  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_secure_cookie_flag(make_client: Any) -> None:
    client = make_client(secure_cookies=True)
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_admin_disabled_without_a_hash(make_client: Any) -> None:
    from pydantic import SecretStr

    client = make_client(admin_password_hash=SecretStr(""))
    response = client.get("/admin/login")
    assert response.status_code == 503
    assert "ADMIN_PASSWORD_HASH" in response.text
    assert login(client).status_code == 503


def test_open_redirect_is_refused(client: Any) -> None:
    assert login(client, next_path="https://evil.example/").headers["location"] == "/admin"


def test_password_check_runs_off_the_event_loop(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """pbkdf2 takes ~0.2 s of CPU: on the loop it would stall every websocket for that long."""
    import asyncio

    import web.admin
    from web.passwords import verify_password

    on_loop = []

    def checking_verify(password: str, encoded: str) -> bool:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return verify_password(password, encoded)

    monkeypatch.setattr(web.admin, "verify_password", checking_verify)
    assert login(client, "wrong").status_code == 401
    assert login(client).status_code == 303
    assert on_loop == [False, False]


def test_failed_logins_are_limited_for_all_clients_together(make_client: Any) -> None:
    """Behind a proxy every client has the proxy's address; a global limit still stops guessing."""
    client = make_client(admin_login_attempts=100, admin_login_global_attempts=3)
    for _ in range(3):
        assert login(client, "wrong").status_code == 401
    blocked = login(client)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_sessions_end_when_the_password_changes(make_client: Any) -> None:
    from pydantic import SecretStr

    from web.passwords import hash_password

    first = make_client()
    assert login(first).status_code == 303
    cookies = dict(first.cookies)
    restarted = make_client()  # same hash, same SESSION_SECRET: the session survives a restart
    restarted.cookies.update(cookies)
    assert restarted.get("/admin", follow_redirects=False).status_code == 200
    changed = make_client(admin_password_hash=SecretStr(hash_password("a new password", iterations=1000)))
    changed.cookies.update(cookies)
    assert changed.get("/admin", follow_redirects=False).status_code == 303
    assert changed.get("/admin/reviews.csv", follow_redirects=False).status_code == 303


def test_a_forged_boolean_session_is_not_a_login(make_client: Any) -> None:
    """Sessions from before the fingerprint (``admin: true``) no longer count."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    client = make_client()
    payload = base64.b64encode(json.dumps({"admin": True}).encode())
    client.cookies.set("reviewpulse_session", TimestampSigner("test-secret").sign(payload).decode())
    assert client.get("/admin", follow_redirects=False).status_code == 303

"""The server does what ``/openapi.json`` says: schemathesis, every check, bounded examples per operation.

Generated requests, valid and invalid, against the real app (ASGI, in this process) on
the test broker and chDB, with the registry token so the operators' endpoints are
exercised too. schemathesis' pytest plugin does not run on this pytest, so each operation
is driven through hypothesis directly; a failure names the operation and the check.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import schemathesis
import schemathesis.transport.requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.integration.web.test_web_admin import login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
TOKEN = "schemathesis-token"
#: Examples per operation: enough to hit every parameter's edges, bounded for the suite's time.
EXAMPLES = 15
WIDE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM") != "1"  # 1: new examples each run, to look for more
#: Operations whose schema-valid requests may still be refused for what the server holds (documented 4xx),
#: so "schema-valid data is accepted" cannot hold for them; every other check still runs.
DEPENDS_ON_STATE = {
    "POST /api/models": "the record must name a model artefact directory on the server (400 otherwise)",
    "POST /api/models/rollback": "there must be an earlier model to go back to (400 otherwise)",
}


def run_operation(operation: Any, mode: schemathesis.GenerationMode, cookie: str) -> str | None:
    """None when every generated case passes every check, else what failed (``cookie``: an admin session)."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=list(HealthCheck))
    def every_case(case: Any) -> None:
        # Characters beyond U+FFFF (and lone surrogates) are counted as two by the generator's length
        # checks but as one by the server, as JSON Schema says: a "too long" text that is not too long.
        assume(not WIDE.search(json.dumps([case.body, case.query, case.path_parameters], ensure_ascii=False,
                                          default=str)))
        # A cursor is the server's own opaque token (next_cursor): a generated one, however well-formed, is
        # refused with 422 as documented, so "schema-valid data is accepted" cannot hold for it.
        opaque = bool(case.query and case.query.get("cursor")) or operation.label in DEPENDS_ON_STATE
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}", "Cookie": cookie},
                               excluded_checks=[positive_data_acceptance] if opaque else None)

    try:
        every_case()
    except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
        return None
    except Exception as error:  # noqa: BLE001 - collected and reported together
        found = error.exceptions if isinstance(error, BaseExceptionGroup) else [error]
        return f"{operation.label} ({mode.value} data): " + "\n".join(str(each) for each in found)
    return None


def test_the_server_does_what_its_spec_says(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib3-future (installed with grafana-client's niquests) replaces urllib3's pool container, through
    # which schemathesis counts connections to resend a request a dropped keep-alive connection lost; the
    # in-process ASGI transport never drops one.
    monkeypatch.setattr(schemathesis.transport.requests, "_count_opened_connections", lambda session: 0)
    client = make_client(registry_token=SecretStr(TOKEN), api_requests_per_s=1e6, api_burst=1_000_000,
                         predict_timeout_s=5.0, review_wait_timeout_s=5.0, admin_login_attempts=100_000,
                         admin_login_global_attempts=100_000)

    def admin_session() -> str:
        """A fresh admin session for each operation (one of them is the logout), so admin pages validate input."""
        client.cookies.clear()
        assert login(client).status_code == 303
        return f"reviewpulse_session={client.cookies['reviewpulse_session']}"

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures = [failure for operation in operations for mode in schemathesis.GenerationMode
                if (failure := run_operation(operation, mode, admin_session()))]
    assert not failures, "\n\n".join(failures)

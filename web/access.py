"""Who may use the operators' endpoints: the registry token (``run.json``) or an admin session.

``/api/models``, ``/api/training/rows`` and the dead-letter reasons of ``/api/stats``.
``reviewpulse run`` makes a random token per start and writes it to run.json (mode
0600), so commands of the same user on the same machine can use it.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse

from web.admin import logged_in


async def authorised(request: Request) -> bool:
    token = request.app.state.settings.registry_token.get_secret_value()
    sent = request.headers.get("authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    return "session" in request.scope and await logged_in(request)


def unauthorised() -> JSONResponse:
    return JSONResponse({"error": "this needs `Authorization: Bearer <registry_token from run.json>` or an admin "
                                  "session"}, status_code=401)

"""Alerts in the web tier: ``GET /api/alerts`` and the ``/live`` banner for a brand that just turned bad.

``/api/alerts`` runs every rule of ``stream.storage.alerts`` (the SQL Grafana's rules run) and
is what ``reviewpulse alerts`` asks while ``reviewpulse run`` holds the embedded ClickHouse; it
needs the registry token (run.json) or an admin session, as the stall and dead-letter figures
are for operators. The banner is for everyone on ``/live``, so a single-machine user without
Grafana sees a brand turn bad too: :class:`BrandBanner` checks that one rule every
``ALERT_CHECK_S`` on the storage's thread and hands a changed verdict to the live viewers.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from kernel.periodic import every
from kernel.settings import Settings
from stream.storage.alerts import BRAND_TURNS_BAD, RULES, evaluate, evaluate_rule
from web.access import authorised, unauthorised
from web.live import LiveHub

log = logging.getLogger(__name__)


async def alerts_endpoint(request: Request) -> JSONResponse:
    """``{"firing": [{"rule", "title", "subject", "value", "message"}], "rules": [names]}``: what fires now."""
    if not await authorised(request):
        return unauthorised()
    state = request.app.state
    firing = await state.storage.run(evaluate, state.storage, state.settings)
    return JSONResponse({"firing": [f.to_dict() for f in firing], "rules": [rule.name for rule in RULES]})


class BrandBanner:
    """Keeps the live viewers' banner in step with the "brand turns bad" rule."""

    def __init__(self, settings: Settings, storage: Any, live: LiveHub) -> None:
        self.settings = settings
        self.storage = storage
        self.live = live

    async def check(self) -> list[dict[str, Any]]:
        """Evaluate the rule now and publish its firings to the viewers when they changed."""
        firing = await self.storage.run(evaluate_rule, self.storage, BRAND_TURNS_BAD, self.settings)
        alerts = [f.to_dict() for f in firing]
        if alerts != self.live.alerts:
            self.live.publish_alerts(alerts)
        return alerts

    async def run(self) -> None:
        await every(self.settings.alert_check_s, self.check, log, f"check {BRAND_TURNS_BAD.title!r} for the /live banner")

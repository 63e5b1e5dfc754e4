"""``/admin/models``: model quality — acceptance per version over time, hold-out macro-F1, promotions,
candidates' shadow scores, and what automatic retraining did.

Admin-only. Figures come from ``stream.storage.model_quality`` (stored reviews), the registry's shadow figures (candidates scored beside the active model), the model registry (``stream.registry.store``: every
version with its metrics, and the promotion history) and the automatic retrainer's status,
which the root hands in (``app.state.retraining``; None when it is off).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stream.storage.model_quality import acceptance_by_version, acceptance_totals
from web.admin import logged_in, login_redirect


async def model_quality_page(request: Request) -> Response:
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    storage = state.storage

    def load() -> dict[str, Any]:
        from web.models_api import registry_for

        registry = registry_for(request)
        totals = acceptance_totals(storage)
        models = []
        for record in registry.list():
            models.append({
                "version": record.version, "status": record.status, "parent": record.parent_version,
                "created_at": record.created_at.isoformat()[:19] if record.created_at else "",
                "training_rows": record.training_rows, "sources": record.sources,
                "holdout_f1": record.holdout_metrics.get("macro_f1"),
                "holdout_active_f1": (record.holdout_metrics.get("active") or {}).get("macro_f1"),
                "fixed_f1": record.metrics.get("macro_f1"),
                "gates": (record.metrics.get("gates") or {}).get("passed"),
                "acceptance": totals.get(record.version, {}).get("acceptance_rate"),
                "rated": totals.get(record.version, {}).get("rated", 0), "note": record.note,
            })
        return {"models": models, "history": registry.history(), "daily": acceptance_by_version(storage),
                "shadow": registry.shadow()}

    context = await storage.run(load)
    context["retraining"] = state.retraining() if state.retraining is not None else None
    context["shadow_on"] = state.settings.shadow_scoring
    return state.templates.TemplateResponse(request, "quality.html", context)

"""``/admin/labels``: the label queue; ``POST /admin/labels`` sets one review's label (one click).

Admin-only (login as for ``/admin``). The lists come from ``stream.storage.label_queue``: the
reviews the active model is least sure of, and those whose stars disagree with its
label. A label set here is stored in ``review_labels`` and weighs
``ADMIN_LABEL_WEIGHT`` times in the next ``reviewpulse retrain``. The form posts with
the admin's SameSite=Lax session cookie, which a cross-site form does not carry.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from stream.storage.label_queue import label_counts, least_sure, set_label, stars_disagree
from stream.storage.labelled import LABEL_STARS
from web.admin import logged_in, login_redirect

QUEUE_ROWS = 25


def _active_version(request: Request) -> str | None:
    """The registry's active version, None when the registry cannot say (then every version is queued)."""
    from web.models_api import registry_for

    try:
        return registry_for(request).active().version
    except Exception:  # noqa: BLE001 - the queue still works without a registry
        return None


async def label_queue_page(request: Request) -> Response:
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    storage = state.storage

    def load() -> dict[str, Any]:
        version = _active_version(request)
        unsure = least_sure(storage, version, QUEUE_ROWS)
        if not unsure and version:
            unsure = least_sure(storage, None, QUEUE_ROWS)
        return {"active_version": version, "least_sure": unsure, "disagree": stars_disagree(storage, QUEUE_ROWS),
                "counts": label_counts(storage)}

    context = await storage.run(load)
    context.update(labels=list(LABEL_STARS), done=request.query_params.get("done", ""),
                   weight=state.settings.admin_label_weight)
    return state.templates.TemplateResponse(request, "labels.html", context)


async def set_label_action(request: Request) -> Response:
    """``POST /admin/labels`` (form: id, label) -> back to the queue."""
    if not await logged_in(request):
        return login_redirect(request)
    form = await request.form()
    review_id, label = str(form.get("id") or ""), str(form.get("label") or "")
    if label not in LABEL_STARS or not review_id or len(review_id) > 128:
        return PlainTextResponse(f"label must be one of {', '.join(LABEL_STARS)} and id a stored review",
                                 status_code=422)
    storage = request.app.state.storage
    if not await storage.run(set_label, storage, review_id, label, "admin"):
        return PlainTextResponse(f"no stored review with id {review_id!r}", status_code=404)
    return RedirectResponse("/admin/labels?done=1", status_code=303)

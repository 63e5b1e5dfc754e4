"""The demo review site as a Starlette app, plus a runner that serves it from a thread.

``reviewpulse demo-site`` serves it in the foreground; tests and ``reviewpulse bench
crawl`` use :class:`DemoSiteServer` to run it on a free port beside them.
"""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from kernel.logs import uvicorn_logging
from producers.demo_site import pages
from producers.demo_site.catalogue import Catalogue

ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\n"


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def create_demo_app(catalogue: Catalogue) -> Starlette:
    """Routes: /categories, /categories/{sub}, /api/categories/{sub}/companies, /review/{company},
    /logos/{company}.svg, /robots.txt. Unknown or 'missing' companies answer 404."""
    spec = catalogue.spec

    async def categories(request: Request) -> Response:
        return HTMLResponse(pages.categories_page(catalogue))

    async def subcategory(request: Request) -> Response:
        sub = catalogue.sub_by_slug.get(request.path_params["slug"])
        if sub is None:
            return HTMLResponse(pages.layout("Not found", "<h1>Not found</h1>"), status_code=404)
        return HTMLResponse(pages.subcategory_page(sub.category, sub.name, sub.slug, _page_number(request)))

    async def companies_json(request: Request) -> Response:
        sub = catalogue.sub_by_slug.get(request.path_params["slug"])
        if sub is None:
            return JSONResponse({"error": "unknown sub-category"}, status_code=404)
        page, per_page = _page_number(request), spec.companies_per_page
        if any(company.slow for company in sub.companies):
            await asyncio.sleep(spec.slow_page_delay_s)
        chunk = sub.companies[(page - 1) * per_page: page * per_page]
        pages_total = max(1, -(-len(sub.companies) // per_page))
        return JSONResponse({
            "page": page, "pages": pages_total,
            "next": f"/categories/{sub.slug}?page={page + 1}" if page < pages_total else None,
            "companies": [{"name": c.name, "url": f"/review/{c.slug}"} for c in chunk],
        })

    async def company(request: Request) -> Response:
        found = catalogue.company_by_slug.get(request.path_params["slug"])
        if found is None or found.missing:
            return HTMLResponse(pages.layout("Not found", "<h1>Company not found</h1>"), status_code=404)
        page = _page_number(request)
        if found.slow and page == 1:
            await asyncio.sleep(spec.slow_page_delay_s)
        return HTMLResponse(pages.company_page(found, page, spec.reviews_per_page))

    async def logo(request: Request) -> Response:
        found = catalogue.company_by_slug.get(request.path_params["slug"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(pages.logo_svg(found), media_type="image/svg+xml")

    async def robots(request: Request) -> Response:
        return PlainTextResponse(ROBOTS_TXT)

    async def home(request: Request) -> Response:
        return RedirectResponse("/categories")

    return Starlette(routes=[
        Route("/", home),
        Route("/robots.txt", robots),
        Route("/categories", categories),
        Route("/categories/{slug}", subcategory),
        Route("/api/categories/{slug}/companies", companies_json),
        Route("/review/{slug}", company),
        Route("/logos/{slug}.svg", logo),
    ])


class DemoSiteServer:
    """Serve the demo site from a background thread (context manager); ``.url`` once started."""

    def __init__(self, catalogue: Catalogue, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(create_demo_app(catalogue), host=host, port=port, **uvicorn_logging("warning"),
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-site", daemon=True)
        self.url = ""

    def start(self, timeout_s: float = 10.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the demo site did not start; is the port free?")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> DemoSiteServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

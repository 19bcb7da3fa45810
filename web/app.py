"""The web server: the staff dashboard and the HTTP API (`chotdon serve`).

    /healthz                 Kafka and Redis reachable (no login)
    /login, /logout          the dashboard's session (the login page needs no login)
    /api/v1/...              the API (session cookie + CSRF token, or a bearer token)
    /docs, /openapi.json     the API's documentation (logged in)
    /, /live/..., /orders... the dashboard's pages (web/pages.py)

Everything but /healthz and the login answers only a caller who says who they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from config.settings import Settings
from web import pages
from web.api import chats, customers, livestreams, orders, shop
from web.auth import Principal, principal
from web.errors import ApiError, api_error_handler, validation_error_handler
from web.printing import router as printing_router
from web.responses import JsonResponse
from web.services import Services, services

STATIC = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await Services.start(settings)
        try:
            yield
        finally:
            await app.state.services.stop()

    app = FastAPI(
        title="chotdon",
        version="1",
        summary="Livestream comments to numbered draft orders: the staff API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=JsonResponse,
    )
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(ValidationError, validation_error_handler)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    # Level 5: nearly the size of level 9 at a fraction of the time (a board is a few MB)
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)

    api = APIRouter(prefix=API_PREFIX)
    for module in (livestreams, orders, customers, chats, shop):
        api.include_router(module.router)
    api.include_router(printing_router)
    app.include_router(api)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_health(app)
    _add_docs(app)
    return app


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="Kafka and Redis reachable")
    async def healthz(request: Request) -> JsonResponse:
        checks = await services(request).health()
        healthy = all(value == "ok" for value in checks.values())
        return JsonResponse(
            {"status": "ok" if healthy else "degraded", **checks},
            status_code=200 if healthy else 503,
        )


def _add_docs(app: FastAPI) -> None:
    # Swagger UI's files from the swagger-ui-bundle package: a shop's network may have no
    # internet, and the default page loads them from a CDN.
    import swagger_ui_bundle

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_who: Principal = Depends(principal)) -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    async def docs(_who: Principal = Depends(principal)) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="chotdon API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

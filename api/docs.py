"""`/docs` (Swagger UI) and `/redoc` from assets shipped with the package, not a CDN.

The assets come from the `fastapi-offline` package (MIT; it bundles Swagger UI under
Apache-2.0 and ReDoc under MIT), so the pages work on a machine without internet
access. The HTML pages carry security headers: a Content-Security-Policy that allows
only this origin (plus the inline bootstrap script FastAPI's pages use), no framing,
no MIME sniffing, no referrer.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"

# Headers of every HTML page the service serves.
HTML_SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def assets_dir() -> Path:
    """Where the Swagger UI and ReDoc files are installed."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def secured(page: HTMLResponse) -> HTMLResponse:
    """`page` with the HTML security headers."""
    page.headers.update(HTML_SECURITY_HEADERS)
    return page


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` on `app` (created with `docs_url=None, redoc_url=None`)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return secured(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return secured(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

"""The dashboard (interfaces/web/): its page at ``/``, its own scripts and styles under
``/assets/app/``, and the few library files it needs under ``/assets/vendor/``, taken from the
npm packages installed in interfaces/web/node_modules (never the whole directory). Everything is
served from here, so the dashboard works offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from interfaces.http.errors import error

WEB = Path(__file__).resolve().parents[1] / "web"
PAGE = WEB / "index.html"
APP = WEB / "app"
# the name the page imports each library by, and the file of the npm package that holds it
VENDOR = {
    "preact.mjs": "preact/dist/preact.mjs",
    "preact-hooks.mjs": "preact/hooks/dist/hooks.mjs",
    "htm.mjs": "htm/dist/htm.mjs",
    "lightweight-charts.mjs": "lightweight-charts/dist/lightweight-charts.standalone.production.mjs",
}
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidated each time: a new release shows at once

router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> Response:
    return FileResponse(PAGE, media_type="text/html", headers=NO_CACHE)


@router.get("/assets/vendor/{name}")
def vendor(name: str) -> Response:
    installed = WEB / "node_modules" / VENDOR[name] if name in VENDOR else None
    if installed is None:
        return error(404, "not_found", f"no dashboard library named {name!r}")
    if not installed.is_file():
        return error(
            503,
            "assets_missing",
            "the dashboard's libraries are not installed: run `make run` "
            "(or `npm ci --prefix interfaces/web`)",
        )
    return FileResponse(installed, media_type="text/javascript", headers=NO_CACHE)


def install(app: FastAPI) -> None:
    """Adds the page, the vendored libraries and the app's own files to ``app``."""
    app.include_router(router)
    app.mount("/assets/app", StaticFiles(directory=APP), name="dashboard")

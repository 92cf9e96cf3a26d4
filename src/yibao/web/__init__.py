"""The clerk's console (经办员工作台): a Chinese web interface over the records service.

Mounted by :func:`yibao.api.create_app` at ``/`` beside the REST API: server-rendered pages
(Jinja2), htmx for partial updates, all static assets vendored under ``static/`` (agency networks
have no internet). See ``docs/console.md``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_PATH = "/static"


def install(app: FastAPI) -> None:
    """Add the console's pages and static files to ``app`` (an app made by ``create_app``)."""
    from .duplicates import router as duplicates_router
    from .views import router

    app.include_router(router)
    app.include_router(duplicates_router)
    app.mount(STATIC_PATH, StaticFiles(directory=str(resources.files("yibao.web").joinpath("static"))), name="static")


__all__ = ["STATIC_PATH", "install"]

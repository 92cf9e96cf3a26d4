"""The REST API of the records service (FastAPI): ``create_app(service)``.

Routes live under ``/api/v1`` (OpenAPI at ``/openapi.json``, docs at ``/docs``), health at ``/healthz``.
See :mod:`yibao.api.app` for authentication, roles and errors, :mod:`yibao.api.access` for the
region rule, :mod:`yibao.api.errors` for the status codes and :mod:`yibao.api.logs` for masking.
"""

from __future__ import annotations

from .app import create_app
from .security import AccessStore, Principal

__all__ = ["AccessStore", "Principal", "create_app"]

"""The uvicorn factory: build the app from the environment (TENURE_* settings)."""

from __future__ import annotations

from fastapi import FastAPI

from tenure.api.app import create_app
from tenure.config import Settings
from tenure.logging import configure_logging


def app_from_environment() -> FastAPI:
    """Return create_app(Settings()) for a uvicorn worker."""
    settings = Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return create_app(settings)

"""Failures a service reports; ``hotline.api.app`` maps each to one HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400


class NotFoundError(ServiceError):
    status_code = 404


class ConflictError(ServiceError):
    """Duplicate name, a missing referenced row, or a row still in use."""

    status_code = 409


class InvalidError(ServiceError):
    status_code = 422

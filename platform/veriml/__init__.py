"""The VeriML Django project: settings, URLs, the Celery app and one package per app."""

from veriml.celery import app as celery_app

__all__ = ["celery_app"]

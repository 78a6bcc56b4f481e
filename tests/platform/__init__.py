"""Tests of the Django project, its apps and the Celery worker."""

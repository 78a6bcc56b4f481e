"""Small helpers the API views share: object lookup with tenancy, list filters, request fields
read before validation, strict input serializers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from veriml.accounts.access import Caller, Right, require
from veriml.core.models import StoredFile

Row = TypeVar("Row", bound=Model)


def visible_object(
    queryset: QuerySet[Row], pk: str, caller: Caller, right: Right, what: str
) -> Row:
    """The object with this id if the caller has ``right`` in its organisation: 404 when the
    id is malformed, unknown or in an organisation the caller cannot see, 403 when it can see
    the organisation but lacks the right."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise exceptions.NotFound(f"No such {what}.") from None
    found = queryset.filter(pk=key).first()
    if found is None:
        raise exceptions.NotFound(f"No such {what}.")
    require(caller, right, found.organisation_id, what)  # type: ignore[attr-defined]
    return found


TEXT_MAX_LENGTH = 200
# Browsers' HTML forms (the browsable API) add it; it is never data.
_FORM_ONLY_FIELDS = frozenset({"csrfmiddlewaretoken"})


def text_value(value: Any, name: str, max_length: int = TEXT_MAX_LENGTH) -> str | None:
    """A short text from the query or body, read before a serializer checks the rest: 400 when
    it is not text, too long or holds a NUL character (which PostgreSQL cannot store or match)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise exceptions.ValidationError(
            {name: [f"Must be text of at most {max_length} characters, without NUL."]}
        )
    return value


def body_value(request: Request, name: str) -> str | None:
    """A text field of the request body, whatever the body is (a JSON list has no fields)."""
    data = request.data
    return text_value(data.get(name) if isinstance(data, Mapping) else None, name)


def query_value(request: Request, name: str) -> str | None:
    return text_value(request.query_params.get(name), name)


def requested_organisation(request: Request) -> str | None:
    """The ``organisation`` a signed-in user in several organisations names, in the query or
    the body."""
    return query_value(request, "organisation") or body_value(request, "organisation")


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not declare (400), so a misspelt option
    is reported instead of silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - _FORM_ONLY_FIELDS)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def choice_filter(request: Request, name: str, choices: Iterable[str]) -> str | None:
    """A query parameter restricted to ``choices``; 400 for anything else."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    allowed = list(choices)
    if value not in allowed:
        raise exceptions.ValidationError({name: [f"Choose one of {', '.join(allowed)}."]})
    return value


def choice_parameter(name: str, choices: Iterable[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, enum=list(choices), description=description)


def stored_file_summary(stored: StoredFile | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {"name": stored.original_name, "size": stored.size, "sha256": stored.sha256}


def progress_of(row: Any) -> dict[str, Any]:
    return {
        "stage": row.progress_stage,
        "fraction": row.progress_fraction,
        "updated_at": row.progress_updated_at,
    }


def error_of(row: Any) -> dict[str, str] | None:
    if not row.error_code:
        return None
    return {"code": row.error_code, "message": row.error_message}


class StoredFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class ProgressSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="What the worker is doing now, e.g. 'sumcheck'.")
    fraction = serializers.FloatField(help_text="From 0 to 1, within the stage.")
    updated_at = serializers.DateTimeField(allow_null=True)


class WorkErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="compile_error, prover_error, time_limit, memory_limit, integrity_error, "
        "invalid_dataset, worker_lost, unavailable, verification_failed, internal_error"
    )
    message = serializers.CharField()


@extend_schema_field(OpenApiTypes.OBJECT)
class JsonObjectField(serializers.Field):
    """A JSON object, given as an object (JSON body) or as JSON text (a multipart field)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                raise serializers.ValidationError("Must be a JSON object.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value

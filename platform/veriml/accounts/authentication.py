"""``Authorization: Bearer <API key>`` for the REST API."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from veriml.accounts.models import ApiKey, Organisation
from veriml.accounts.services import (
    ExpiredApiKey,
    InvalidApiKey,
    RevokedApiKey,
    authenticate_api_key,
)


class ApiKeyPrincipal:
    """``request.user`` for a call made with an API key: it acts for an organisation."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organisation: Organisation = api_key.organisation

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix} of {self.organisation}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, credentials = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            # No bearer token: leave the request to the other authentication classes.
            return None
        credentials = credentials.strip()
        if not credentials or " " in credentials:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            api_key = authenticate_api_key(credentials)
        except RevokedApiKey:
            raise exceptions.AuthenticationFailed("API key has been revoked.") from None
        except ExpiredApiKey:
            raise exceptions.AuthenticationFailed("API key has expired.") from None
        except InvalidApiKey:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def api_key_of(request: Request) -> ApiKey | None:
    auth: Any = request.auth
    return auth if isinstance(auth, ApiKey) else None

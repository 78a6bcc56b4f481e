"""Request rates: anonymous callers per IP address, everyone else per API key or user.

DRF's own ``UserRateThrottle`` keys on ``user.pk``, which an API key's principal does not have,
so all keys would share one bucket; :class:`CallerRateThrottle` keys on the key's prefix.
Rates are read at each request (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``), so overriding
them in tests or settings takes effect at once. Counts live in Django's cache (``CACHE_URL``):
a cache shared by all web processes makes the limits hold across them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from veriml.accounts.authentication import api_key_of

if TYPE_CHECKING:  # rest_framework.views imports this module while it is being defined
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _LiveRates:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonymousRateThrottle(_LiveRates, AnonRateThrottle):
    scope = "anon"


class CallerRateThrottle(_LiveRates, SimpleRateThrottle):
    scope = "caller"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        api_key = api_key_of(request)
        ident = f"key:{api_key.prefix}" if api_key is not None else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

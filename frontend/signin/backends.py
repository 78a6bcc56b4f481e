from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins over HTTP.

    Code that authenticates without a request (management commands, the test client's
    ``login``) has no address to count failures against; it is passed to the next backend
    instead of refused, since no remote guesser can reach that path.
    """

    def authenticate(self, request: Any, username: str | None = None, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, **kwargs)

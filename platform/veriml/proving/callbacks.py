"""Signed callbacks: when a job ends, a POST of its summary to the URL given at submission.

The body is JSON. ``X-VeriML-Timestamp`` holds the Unix time of sending and
``X-VeriML-Signature`` is ``sha256=<hex>``, the HMAC-SHA256 under the organisation's callback
secret of ``<timestamp>.<body>``. A receiver recomputes it, compares in constant time and
refuses timestamps more than a few minutes old (replays).

Only ``http`` and ``https`` URLs are accepted, and (unless ``CALLBACK_ALLOW_PRIVATE_NETWORKS``)
only to public addresses, so a callback cannot be aimed at VeriML's own network. A failed
delivery is logged and recorded on the job; it never changes the job.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
SIGNATURE_HEADER = "X-VeriML-Signature"
TIMESTAMP_HEADER = "X-VeriML-Timestamp"
EVENT_HEADER = "X-VeriML-Event"
EVENT = "job.finished"


class CallbackRefused(Exception):
    """The URL may not be called."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise CallbackRefused("a callback URL must be http:// or https:// with a host name")


def _check_addresses(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise CallbackRefused(f"cannot resolve {host}: {error}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise CallbackRefused(f"{host} resolves to the non-public address {address}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # A redirect could lead to an address the check above would refuse.
        return None


def deliver(url: str, secret: str, summary: dict[str, Any]) -> int:
    """POSTs the signed summary; returns the HTTP status. Raises CallbackRefused or OSError."""
    check_scheme(url)
    if not settings.CALLBACK_ALLOW_PRIVATE_NETWORKS:
        _check_addresses(url)
    body = json.dumps(
        summary, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "VeriML-Callback/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            EVENT_HEADER: EVENT,
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.CALLBACK_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)

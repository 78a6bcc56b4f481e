"""Typed access to the environment, the only way settings read configuration.

Every variable read here is listed in ``docker/.env.example``. Secrets can be given directly
(``SECRET_KEY=...``) or as a path to a file holding them (``SECRET_KEY_FILE=/run/secrets/...``),
which is how container orchestrators hand out secrets. A variable set to an empty string counts
as unset, so a blank line in an ``.env`` file means "use the default".
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default (as in a blank .env line)."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """``NAME`` itself, or the contents of the file named by ``NAME_FILE``; never both."""
    direct = os.environ.get(name) or None
    file_name = os.environ.get(f"{name}_FILE") or None
    if direct and file_name:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"cannot read {name}_FILE={file_name}: {error}") from None
    return direct if direct is not None else default


def parse_database_url(url: str, base_dir: Path) -> dict[str, object]:
    """Django's DATABASES entry for a ``postgres://`` or ``sqlite:///`` URL.

    ``sqlite:///relative/path`` is relative to ``base_dir``; ``sqlite:////abs/path`` is absolute.
    Query parameters of a PostgreSQL URL (``sslmode=require``) become connection options.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        if path in ("", "/", "/:memory:") or parts.netloc == ":memory:":
            name: str = ":memory:"
        else:
            relative = path[1:]
            name = relative if relative.startswith("/") else str(base_dir / relative)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if scheme in ("postgres", "postgresql", "pgsql"):
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured("DATABASE_URL must name a database: postgres://host/NAME")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite:///)"
    )

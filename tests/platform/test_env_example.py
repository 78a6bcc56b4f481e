"""``docker/.env.example`` lists every environment variable VeriML reads."""

from __future__ import annotations

import re

from tests.platform.helpers import ROOT

HELPER_CALL = re.compile(r'env_(str|bool|int|list|secret)\(\s*"([A-Z][A-Z0-9_]*)"')
OS_ENVIRON = re.compile(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"')
SHELL_DEFAULT = re.compile(r"\$\{([A-Z][A-Z0-9_]*)[:?-]")


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "platform").rglob("*.py"):
        for kind, name in HELPER_CALL.findall(path.read_text()):
            names.add(name)
            if kind == "secret":
                names.add(f"{name}_FILE")
    for path in (ROOT / "docker").glob("*.py"):
        names.update(OS_ENVIRON.findall(path.read_text()))
    for path in [ROOT / "docker" / "entrypoint.sh", ROOT / "docker" / "compose.yaml"]:
        names.update(SHELL_DEFAULT.findall(path.read_text()))
    return names


def variables_listed() -> set[str]:
    text = (ROOT / "docker" / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_every_variable_read_is_listed_in_the_env_example():
    read = variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= read
    assert read - variables_listed() == set()

#!/usr/bin/env python
"""Django's command line for VeriML."""

import os
import sys
from pathlib import Path

# platform/ is a plain folder, not a package: a package named "platform" would shadow the
# standard library's module of that name.
PLATFORM_DIR = str(Path(__file__).resolve().parent / "platform")


def main() -> None:
    if PLATFORM_DIR not in sys.path:
        sys.path.insert(0, PLATFORM_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "veriml.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""Container health check of the web server: healthy while it answers /healthz.

/healthz answers 503 while a component such as the worker is down; that is that component's
health, so both 200 and 503 count as the web server being up.
"""

import os
import sys
import urllib.error
import urllib.request

HEALTHY_STATUSES = (200, 503)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0].lstrip(".") if hosts and hosts[0] != "*" else "localhost"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=8) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"unreachable: {error}")
        return 1
    return 0 if status in HEALTHY_STATUSES else 1


if __name__ == "__main__":
    sys.exit(main())

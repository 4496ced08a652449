"""Login throttling (django-axes) wiring: the client's address behind proxies, and the backend.

Failed admin logins are counted per (username, client address) and lock that pair out for a
cool-off period (settings: LOGIN_FAILURE_LIMIT, LOGIN_COOLOFF_MINUTES). See docs/security.md.
"""

import ipaddress

from axes.backends import AxesStandaloneBackend
from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n proxies in front, the
    n-th address from the right of X-Forwarded-For (each proxy appends the address it saw, so
    only the entries our own proxies added can be trusted; anything left of them is the client's
    to invent). The same rule as the API throttles' (REST_FRAMEWORK["NUM_PROXIES"])."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded.strip():
        return remote
    addresses = [part.strip() for part in forwarded.split(",")]
    candidate = addresses[-min(proxies, len(addresses))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # a malformed header is the proxy's fault; count the proxy instead


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Refuses a locked-out (username, address) pair before the password is checked.

    An authenticate() call without a request (the test client's `login()`, a shell) has no client
    to throttle and is let through to the next backend; every login form passes its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

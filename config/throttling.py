"""API throttles whose rates are settings read on every request (API_THROTTLE_USER,
API_THROTTLE_ANON), so a deployment sets them from the environment and tests can override them.

DRF's own classes read their rates once, at import. A rate of None means no limit. The counters
live in the default cache: with several processes it must be shared (CACHE_URL).
"""

from django.conf import settings
from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    """Per authenticated user (token or session); anonymous requests fall to the address."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_USER


class AnonRateThrottle(throttling.AnonRateThrottle):
    """Per client address, for anonymous requests only (address: REST_FRAMEWORK["NUM_PROXIES"])."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_ANON

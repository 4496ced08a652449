"""Login throttling (django-axes on the admin login) and API throttling (DRF, 429 + Retry-After)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from config.auth import client_ip
from config.env import env_rate
from config.throttling import AnonRateThrottle

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"


def attempt(client: Client, username: str, password: str, **headers):
    return client.post(LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **headers)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache, keyed by user id or address, which tests reuse."""
    cache.clear()


@pytest.fixture
def staff(make_user):
    return make_user(username="olga", is_staff=True)


def test_it_locks_a_username_out_from_an_address_after_the_failure_limit(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    answers = [attempt(client, "olga", "wrong").status_code for _ in range(3)]
    assert answers == [200, 200, 429]  # the login form again, twice; then locked out
    locked = attempt(client, "olga", "pw-1234567")
    assert locked.status_code == 429, "the right password must not get through a lockout"
    assert b"too many login attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_username_and_address(settings, staff, make_user):
    settings.AXES_FAILURE_LIMIT = 2
    make_user(username="pedro", is_staff=True)
    for _ in range(2):
        attempt(Client(), "olga", "wrong", REMOTE_ADDR="203.0.113.5")
    assert attempt(Client(), "olga", "pw-1234567", REMOTE_ADDR="203.0.113.5").status_code == 429
    # Someone else at that address, and the same user elsewhere, still log in.
    assert attempt(Client(), "pedro", "pw-1234567", REMOTE_ADDR="203.0.113.5").status_code == 302
    assert attempt(Client(), "olga", "pw-1234567", REMOTE_ADDR="198.51.100.7").status_code == 302


def test_a_successful_login_clears_the_count(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        attempt(client, "olga", "wrong")
    assert attempt(client, "olga", "pw-1234567").status_code == 302
    client.logout()
    for _ in range(2):
        assert attempt(client, "olga", "wrong").status_code == 200
    assert attempt(client, "olga", "pw-1234567").status_code == 302


def test_the_cool_off_ends_a_lockout(settings, staff):
    import datetime as dt

    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        attempt(Client(), "olga", "wrong")
    assert attempt(Client(), "olga", "pw-1234567").status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert attempt(Client(), "olga", "pw-1234567").status_code == 302


def test_logging_in_through_the_form_again_and_again_never_locks_out(staff):
    # What the browser tests do on every run: the right password through the login form.
    from axes.models import AccessAttempt

    assert {attempt(Client(), "olga", "pw-1234567").status_code for _ in range(8)} == {302}
    assert not AccessAttempt.objects.exists()


def test_the_test_clients_login_and_force_login_still_work(staff):
    client = Client()
    assert client.login(username="olga", password="pw-1234567")
    assert client.get("/admin/").status_code == 200
    other = Client()
    other.force_login(staff)
    assert other.get("/admin/").status_code == 200


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(settings, staff):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        # The client invents the left part; our proxy appended the address it saw.
        attempt(Client(), "olga", "wrong", HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.9", **proxy)
    blocked = attempt(Client(), "olga", "pw-1234567", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9", **proxy)
    assert blocked.status_code == 429
    elsewhere = attempt(Client(), "olga", "pw-1234567", HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy)
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.2"),  # no trusted proxy: the header is the client's to invent
        (1, "", "10.0.0.2"),
        (1, "1.1.1.1, 203.0.113.9", "203.0.113.9"),
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (3, "203.0.113.9", "203.0.113.9"),  # fewer entries than proxies: the left-most
        (1, "not-an-address", "10.0.0.2"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_reads_x_forwarded_for_from_the_right(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_an_api_user_over_the_rate_gets_429_with_retry_after(settings, api_as):
    settings.API_THROTTLE_USER = "3/minute"
    api = api_as("Viewer")
    answers = [api.get("/api/v1/profiles/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = api.get("/api/v1/profiles/")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert "throttled" in limited.json()["detail"].lower()


def test_each_user_has_its_own_budget(settings, api_as, make_user):
    settings.API_THROTTLE_USER = "2/minute"
    first = api_as("Viewer")
    assert [first.get("/api/v1/profiles/").status_code for _ in range(3)] == [200, 200, 429]
    assert api_as("Data steward").get("/api/v1/profiles/").status_code == 200


def test_anonymous_requests_are_throttled_by_address(settings):
    # No endpoint lets anonymous requests through today (they answer 401 before any throttle),
    # so the throttle is exercised directly, as a future public endpoint would use it.
    settings.API_THROTTLE_ANON = "2/minute"

    def allowed(address: str) -> bool:
        request = RequestFactory().get("/api/v1/", REMOTE_ADDR=address)
        request.user = AnonymousUser()
        return AnonRateThrottle().allow_request(request, view=None)

    assert [allowed("198.51.100.1") for _ in range(3)] == [True, True, False]
    assert allowed("198.51.100.2")


def test_the_api_throttles_are_the_configurable_ones():
    from django.conf import settings as django_settings

    assert django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "config.throttling.UserRateThrottle",
        "config.throttling.AnonRateThrottle",
    ]


def test_off_means_no_limit(settings, api_as):
    settings.API_THROTTLE_USER = None
    api = api_as("Viewer")
    assert {api.get("/api/v1/dimensions/").status_code for _ in range(30)} == {200}


@pytest.mark.parametrize(("value", "expected"), [("100/second", "100/second"), ("5/day", "5/day"), ("off", None)])
def test_a_rate_setting_reads_count_per_period_or_off(monkeypatch, value, expected):
    monkeypatch.setenv("API_THROTTLE_USER", value)
    assert env_rate("API_THROTTLE_USER", "1/second") == expected


@pytest.mark.parametrize("value", ["100", "100/fortnight", "0/second", "many/minute", "/minute"])
def test_a_malformed_rate_setting_is_named(monkeypatch, value):
    monkeypatch.setenv("API_THROTTLE_USER", value)
    with pytest.raises(ImproperlyConfigured, match=r"API_THROTTLE_USER=.* is not a rate"):
        env_rate("API_THROTTLE_USER", "1/second")


def test_cache_url_picks_a_shared_redis_cache_and_refuses_other_schemes():
    from tests.config.test_settings import run_manage

    shown = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CACHES['default'])",
        CACHE_URL="redis://cache.internal:6379/1",
    )
    assert (
        "django.core.cache.backends.redis.RedisCache" in shown.stdout
        and "redis://cache.internal:6379/1" in shown.stdout
    )
    refused = run_manage("check", CACHE_URL="memcached://cache:11211")
    assert refused.returncode != 0
    assert "CACHE_URL='memcached://cache:11211'" in refused.stderr

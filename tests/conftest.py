import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from config.roles import ensure_roles


@pytest.fixture(autouse=True)
def _tasks_run_inline(monkeypatch):
    """django-q2 tasks run in the calling process during tests (ARCHITECTURE.md section 4);
    tests/config/test_worker.py runs a real cluster in a subprocess."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _api_not_throttled(settings):
    """API throttle rates are production limits; a suite sending many requests must not meet
    them by accident. tests/config/test_throttling.py sets low rates on purpose."""
    settings.API_THROTTLE_USER = None
    settings.API_THROTTLE_ANON = None


@pytest.fixture
def roles(db):
    """The role groups, as post_migrate creates them (tests run without migrations)."""
    ensure_roles()
    return {group.name: group for group in Group.objects.all()}


@pytest.fixture
def make_user(db, roles, django_user_model):
    def make(role: str | None = None, *, username: str | None = None, **extra):
        user = django_user_model.objects.create_user(
            username=username or f"user-{(role or 'none').lower().replace(' ', '-')}", password="pw-1234567", **extra
        )
        if role:
            user.groups.add(roles[role])
        return user

    return make


@pytest.fixture
def admin_as(make_user):
    """A Django test client logged in to the admin as a staff user with the given role."""
    from django.test import Client

    def client_for(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role, is_staff=True))
        return client

    return client_for


@pytest.fixture
def api_as(make_user):
    """An API client authenticated by token as a user with the given role."""
    from rest_framework.authtoken.models import Token

    def client_for(role: str | None):
        user = make_user(role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return client_for


@pytest.fixture
def steward_api(api_as):
    return api_as("Data steward")

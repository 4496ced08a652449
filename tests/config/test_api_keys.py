"""The API key admin: superusers only, and no full key of another user on any page or log."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/config/apikey/"


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw-1234567")
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def alice_key(make_user):
    return Token.objects.create(user=make_user("Data steward", username="alice")).key


def test_the_changelist_masks_other_users_keys_and_shows_the_operators_own(operator, alice_key):
    user, client = operator
    own = Token.objects.create(user=user).key
    page = client.get(CHANGELIST).content.decode()
    assert alice_key not in page
    assert f"{alice_key[:4]}…" in page
    assert own in page


def test_the_key_page_and_its_history_do_not_show_another_users_key(operator, alice_key):
    _, client = operator
    alice = Token.objects.get(key=alice_key).user
    for url in (
        f"{CHANGELIST}{alice.pk}/change/",
        f"{CHANGELIST}{alice.pk}/history/",
        f"{CHANGELIST}{alice.pk}/delete/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert alice_key not in response.content.decode(), url


def test_the_key_is_shown_once_to_the_operator_who_issues_it_and_never_logged(operator, make_user):
    _, client = operator
    bob = make_user("Viewer", username="bob")
    response = client.post(f"{CHANGELIST}add/", {"user": bob.pk})
    assert response.status_code == 200
    key = Token.objects.get(user=bob).key
    assert key in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = LogEntry.objects.get()
    assert key not in entry.object_repr and key not in (entry.object_id or "")
    assert entry.object_repr == f"bob ({key[:4]}…)"
    later = client.get(CHANGELIST).content.decode() + client.get("/admin/").content.decode()
    assert key not in later


def test_a_user_with_a_key_cannot_get_a_second_one(operator, alice_key):
    _, client = operator
    alice = Token.objects.get(key=alice_key).user
    response = client.post(f"{CHANGELIST}add/", {"user": alice.pk})
    assert response.status_code == 200
    assert Token.objects.filter(user=alice).count() == 1
    assert "already exists" in response.content.decode()


def test_deleting_revokes_the_key(operator, alice_key):
    _, client = operator
    alice = Token.objects.get(key=alice_key).user
    response = client.post(f"{CHANGELIST}{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(key=alice_key).exists()
    assert alice_key not in LogEntry.objects.get().object_repr


def test_the_changelist_cannot_be_filtered_by_key(operator, alice_key):
    _, client = operator
    for lookup in ("key__startswith", "pk__startswith", "key"):
        response = client.get(CHANGELIST, {lookup: alice_key[:2]})
        assert response.status_code == 400, lookup  # a disallowed lookup


def test_staff_holding_every_key_permission_still_get_nothing(make_user, alice_key):
    staff = make_user(username="keeper", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["authtoken", "config"]))
    client = Client()
    client.force_login(staff)
    for url in (CHANGELIST, f"{CHANGELIST}add/", f"{CHANGELIST}{Token.objects.get().user_id}/change/"):
        assert client.get(url).status_code == 403, url
    index = client.get("/admin/").content.decode()
    assert "API keys" not in index and "/admin/authtoken/" not in index
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404  # DRF's own admin is gone


def test_staff_with_user_permissions_cannot_manage_users(make_user):
    staff = make_user(username="hr", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="auth"))
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get(f"/admin/auth/user/{staff.pk}/change/").status_code == 403


def test_an_operator_issues_a_key_with_drf_create_token(make_user, capsys):
    make_user("Data steward", username="loader")
    call_command("drf_create_token", "loader")
    key = Token.objects.get(user__username="loader").key
    assert re.search(rf"\b{key}\b", capsys.readouterr().out)

import pytest
from django.contrib.auth.models import Group

from config.roles import ROLES, ensure_roles

pytestmark = pytest.mark.django_db


def perms(role):
    return set(Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename"))


def test_every_role_exists_once_after_running_twice():
    ensure_roles()
    ensure_roles()
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLES)


def test_the_data_steward_manages_customer_data_and_the_viewer_only_reads():
    ensure_roles()
    steward = perms("Data steward")
    assert {("profiles", "add_profile"), ("profiles", "delete_profile"), ("profiles", "change_consent")} <= steward
    assert ("profiles", "view_historicalprofile") in steward
    assert ("profiles", "change_historicalprofile") not in steward
    viewer = perms("Viewer")
    assert ("profiles", "view_booking") in viewer
    assert not {codename for _, codename in viewer if not codename.startswith("view_")}


def test_marketing_roles_cannot_change_customer_data():
    ensure_roles()
    for role in ("Campaign manager", "Campaign administrator", "Campaign approver"):
        assert ("profiles", "view_profile") in perms(role)
        assert ("profiles", "change_profile") not in perms(role)


def test_hand_made_grants_are_kept():
    ensure_roles()
    from django.contrib.auth.models import Permission

    extra = Permission.objects.get(codename="add_token")
    Group.objects.get(name="Viewer").permissions.add(extra)
    ensure_roles()
    assert ("authtoken", "add_token") in perms("Viewer")

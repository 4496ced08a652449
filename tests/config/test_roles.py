import pytest
from django.contrib.auth.models import Group, Permission

from config.roles import OPERATOR_APPS, ROLES, ensure_roles

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
    extra = Permission.objects.get(content_type__app_label="profiles", codename="change_profile")
    Group.objects.get(name="Viewer").permissions.add(extra)
    ensure_roles()
    assert ("profiles", "change_profile") in perms("Viewer")


def test_no_role_may_see_api_keys_users_tasks_or_the_admin_log():
    ensure_roles()
    for role in ROLES:
        held = {app for app, _ in perms(role)}
        assert not held & set(OPERATOR_APPS), f"{role} holds {sorted(held & set(OPERATOR_APPS))}"
        assert not {
            codename for _, codename in perms(role) if codename.startswith(("add_hist", "change_hist", "delete_hist"))
        }


def test_it_revokes_forbidden_grants_a_previous_version_or_an_operator_gave():
    ensure_roles()
    steward = Group.objects.get(name="Data steward")
    # What the Data steward held before: every user's API key, readable in the admin.
    leaked = Permission.objects.filter(
        content_type__app_label__in=["authtoken", "auth", "django_q", "admin"], codename__startswith="view_"
    )
    steward.permissions.add(*leaked, Permission.objects.get(codename="change_historicalprofile"))
    ensure_roles()
    assert not {app for app, _ in perms("Data steward")} & {"authtoken", "auth", "django_q", "admin"}
    assert ("profiles", "change_historicalprofile") not in perms("Data steward")
    assert ("profiles", "view_historicalprofile") in perms("Data steward")


def test_it_leaves_groups_that_are_not_roles_alone():
    operators = Group.objects.create(name="Site operators")
    operators.permissions.add(Permission.objects.get(codename="view_user"))
    ensure_roles()
    assert operators.permissions.filter(codename="view_user").exists()

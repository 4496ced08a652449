import pytest
from django.core.management import call_command
from django_q.models import Schedule

from profiles.models import Booking, Consent, ConsentEvent, Profile, Purchase, PushDevice

pytestmark = pytest.mark.django_db


def test_setup_schedules_installs_the_system_schedules_once():
    call_command("setup_schedules")
    call_command("setup_schedules")
    assert sorted(Schedule.objects.values_list("name", "func")) == [
        ("system.heartbeat", "config.tasks.heartbeat"),
        ("system.purge_populations", "audiences.tasks.purge_populations"),
    ]


def test_ensure_admin_creates_a_login_and_prints_it_again(tmp_path, settings, capsys, django_user_model):
    settings.VAR_DIR = tmp_path
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    assert capsys.readouterr().out == first
    user, password = (tmp_path / "admin-login.txt").read_text().split("\n")[:2]
    assert password in first
    assert django_user_model.objects.get(username=user).check_password(password)
    assert (tmp_path / "admin-login.txt").stat().st_mode & 0o077 == 0


def test_seed_demo_builds_a_consistent_demo_and_refuses_to_run_twice(capsys):
    call_command("seed_demo", profiles=50, products=10, no_progress=True)
    assert Profile.objects.count() == 50
    assert Booking.objects.exists() and Purchase.objects.exists()
    states = set(Consent.objects.values_list("profile_id", "channel", "status", "source", "occurred_at"))
    events = list(ConsentEvent.objects.values_list("profile_id", "channel", "status", "source", "occurred_at"))
    assert sorted(events) == sorted(states)  # each state is the one event recorded for it
    by_channel = {channel: {(p, s) for p, c, s, *_ in states if c == channel} for channel in ("email", "sms", "push")}
    assert {p for p, _ in by_channel["email"]} == set(Profile.objects.exclude(email="").values_list("id", flat=True))
    assert {p for p, _ in by_channel["sms"]} <= set(Profile.objects.exclude(phone="").values_list("id", flat=True))
    assert by_channel["push"] == {(p, "opted_in") for p in PushDevice.objects.values_list("profile_id", flat=True)}
    assert {c for _, c, *_ in states} == {"email", "sms", "push"}  # no direct-mail consents are made up
    assert {s for _, s in by_channel["email"]} == {s for _, s in by_channel["sms"]} == {"opted_in", "opted_out"}
    assert all(p.startswith("+") for p in Profile.objects.exclude(phone="").values_list("phone", flat=True))
    call_command("seed_demo", profiles=50, if_empty=True)
    assert "not seeded" in capsys.readouterr().out
    assert Profile.objects.count() == 50

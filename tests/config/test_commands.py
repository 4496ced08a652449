import datetime as dt
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from audiences.demo import fair_visitors
from audiences.models import Audience, PopulationMember
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


def _members(audience: Audience) -> set[int]:
    population = audience.latest_snapshot.population_id
    return set(PopulationMember.objects.filter(population_id=population).values_list("object_id", flat=True))


def _spent_since(since: dt.datetime, until: dt.datetime) -> dict[int, float]:
    spent: dict[int, float] = defaultdict(float)
    for profile_id, amount in Purchase.objects.filter(purchased_at__range=(since, until)).values_list(
        "profile_id", "amount"
    ):
        spent[profile_id] += float(amount)
    return spent


def test_seed_demo_creates_five_audiences_calculated_as_their_rules_say(capsys):
    call_command("seed_demo", profiles=300, products=20, no_progress=True)
    audiences = {a.slug: a for a in Audience.objects.select_related("latest_snapshot")}
    assert sorted((a.kind, a.dimension) for a in audiences.values()) == [
        ("list", "profile"), ("rule", "booking"), ("rule", "profile"), ("rule", "profile"), ("rule", "profile"),
    ]  # fmt: skip
    for audience in audiences.values():
        snapshot = audience.latest_snapshot
        assert snapshot.state == "done" and snapshot.size == len(_members(audience)) > 0, audience.slug

    profiles = Profile.objects.all()
    assert _members(audiences["gold-and-platinum"]) == set(
        profiles.filter(loyalty_tier__in=["gold", "platinum"]).values_list("id", flat=True)
    )
    today = timezone.localdate()
    assert _members(audiences["arriving-next-7-days"]) == set(
        Booking.objects.filter(status="confirmed", check_in__range=(today, today + dt.timedelta(days=7))).values_list(
            "id", flat=True
        )
    )
    now = audiences["big-spenders-12-months"].latest_snapshot.evaluated_at
    spent = _spent_since(now - dt.timedelta(days=365), now)
    assert _members(audiences["big-spenders-12-months"]) == {p for p, total in spent.items() if total >= 1000}
    now = audiences["lapsed-iberia"].latest_snapshot.evaluated_at
    recent = set(_spent_since(now - dt.timedelta(days=180), now))
    iberian = set(profiles.filter(country__in=["PT", "ES"]).values_list("id", flat=True))
    assert _members(audiences["lapsed-iberia"]) == iberian - recent
    visitors = fair_visitors()
    assert len(visitors) == 15  # every 20th of the 300 demo profiles
    assert _members(audiences["spring-fair-visitors"]) == set(
        profiles.filter(external_id__in=visitors).values_list("id", flat=True)
    )
    assert "Calculated 5 audiences: Gold and platinum members (" in capsys.readouterr().out

    call_command("seed_demo", profiles=300, if_empty=True)
    assert "not seeded" in capsys.readouterr().out
    assert Audience.objects.count() == 5


def test_seed_demo_refuses_a_database_holding_a_demo_audience_and_writes_nothing():
    Audience.objects.create(name="Mine", slug="gold-and-platinum", rule={"field": "country", "op": "eq", "value": "PT"})
    with pytest.raises(CommandError, match="Demo audiences exist already"):
        call_command("seed_demo", profiles=10, products=2, no_progress=True)
    assert not Profile.objects.exists()

import datetime as dt

import pytest

from profiles.models import Consent, ConsentEvent
from profiles.services import consent_events_record
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def event(status, when, channel="email", profile="c1", **extra):
    return {"profile": profile, "channel": channel, "status": status, "occurred_at": when, **extra}


@pytest.fixture
def profile():
    return ProfileFactory(external_id="c1")


def test_it_records_the_event_and_sets_the_state(profile):
    result = consent_events_record(records=[event("opted_in", "2026-03-01T10:00:00Z", source="signup")])
    assert (result.created, result.updated, result.ignored) == (1, 0, 0)
    consent = Consent.objects.get(profile=profile, channel="email")
    assert (consent.status, consent.source) == ("opted_in", "signup")
    assert ConsentEvent.objects.count() == 1


def test_an_older_event_arriving_late_does_not_overwrite_a_newer_state(profile):
    consent_events_record(records=[event("opted_out", "2026-03-02T10:00:00Z")])
    late = consent_events_record(records=[event("opted_in", "2026-03-01T10:00:00Z")])
    assert (late.created, late.updated, late.ignored) == (0, 0, 1)
    assert Consent.objects.get(profile=profile).status == "opted_out"
    assert ConsentEvent.objects.count() == 2  # the history keeps both


def test_out_of_order_events_in_one_batch_keep_the_newest(profile):
    consent_events_record(
        records=[event("opted_out", "2026-03-03T00:00:00Z"), event("opted_in", "2026-03-01T00:00:00Z")]
    )
    assert Consent.objects.get(profile=profile).status == "opted_out"


def test_on_equal_timestamps_the_later_arrival_wins(profile):
    consent_events_record(records=[event("opted_in", "2026-03-01T00:00:00Z")])
    consent_events_record(records=[event("opted_out", "2026-03-01T00:00:00Z")])
    assert Consent.objects.get(profile=profile).status == "opted_out"
    consent_events_record(
        records=[event("opted_in", "2026-03-01T00:00:00Z"), event("opted_out", "2026-03-01T00:00:00Z")]
    )
    assert Consent.objects.get(profile=profile).status == "opted_out"


def test_a_newer_event_moves_the_state_forward(profile):
    consent_events_record(records=[event("opted_out", "2026-03-01T00:00:00Z")])
    result = consent_events_record(records=[event("opted_in", "2026-04-01T00:00:00+02:00")])
    assert result.updated == 1
    consent = Consent.objects.get(profile=profile)
    assert consent.status == "opted_in"
    assert consent.occurred_at == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)


def test_channels_are_independent(profile):
    consent_events_record(
        records=[event("opted_in", "2026-03-01T00:00:00Z", channel="sms"), event("opted_out", "2026-03-01T00:00:00Z")]
    )
    assert dict(Consent.objects.values_list("channel", "status")) == {"sms": "opted_in", "email": "opted_out"}


def test_bad_events_are_reported_and_good_ones_kept(profile):
    result = consent_events_record(
        records=[
            event("opted_in", "2026-03-01T00:00:00Z"),
            event("maybe", "2026-03-01T00:00:00Z"),
            event("opted_in", "yesterday", channel="fax"),
            event("opted_in", "2026-03-01T00:00:00Z", profile="ghost"),
            {"profile": "c1", "channel": "email", "status": "opted_in"},
        ]
    )
    assert result.created == 1
    errors = {e["index"]: set(e["errors"]) for e in result.errors}
    assert errors == {1: {"status"}, 2: {"channel", "occurred_at"}, 3: {"profile"}, 4: {"occurred_at"}}
    assert ConsentEvent.objects.count() == 1

"""contactable(channel) and the reachability counts against the hand-worked world of
tests/profiles/reachability_world.py (its table says what each profile is on each channel)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef

from config.env import env_choice_map
from profiles.models import Booking, Profile, PushDevice, Suppression
from profiles.reachability import (
    consent_policy,
    contactable,
    postal_address_key,
    profiles_reachability,
    unreachable_reason,
)
from profiles.services import suppression_add
from tests.factories import BookingFactory
from tests.profiles.reachability_world import EXPECTED, NOVA, build_world, counts


@pytest.fixture
def world(db):
    return build_world()


def _keys(queryset):
    return sorted(queryset.values_list("external_id", flat=True))


def test_it_counts_each_channel_by_first_reason_in_the_hand_worked_world(world):
    assert profiles_reachability(Profile.objects.all()) == EXPECTED


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("email", ["p01", "p06", "p08", "p09"]),
        ("sms", ["p01", "p07", "p10"]),
        ("push", ["p01", "p06"]),
        ("direct_mail", ["p01", "p07", "p10"]),
    ],
)
def test_contactable_selects_exactly_the_reachable_profiles(world, channel, expected):
    assert _keys(Profile.objects.filter(contactable(channel))) == expected


def test_the_reason_is_the_first_that_applies(world):
    reasons = dict(Profile.objects.annotate(reason=unreachable_reason("email")).values_list("external_id", "reason"))
    assert reasons["p05"] == "no_consent"  # opted out and suppressed: consent comes first
    assert reasons["p04"] == "suppressed"
    assert reasons["p02"] == "no_address"
    assert reasons["p01"] is None
    dm = dict(Profile.objects.annotate(reason=unreachable_reason("direct_mail")).values_list("external_id", "reason"))
    assert dm["p05"] == "no_consent"  # its address (NOVA) is suppressed too


def test_a_stricter_policy_moves_profiles_to_no_consent_before_suppressed(world, settings):
    settings.CONSENT_POLICY = {**settings.CONSENT_POLICY, "email": "opted_in"}
    assert profiles_reachability(Profile.objects.all())["email"] == counts(2, 2, 6, 0)
    settings.CONSENT_POLICY = {**settings.CONSENT_POLICY, "sms": "not_opted_out"}
    assert _keys(Profile.objects.filter(contactable("sms"))) == ["p01", "p03", "p07", "p09", "p10"]


def test_a_profile_with_several_devices_is_counted_once(world):
    PushDevice.objects.create(profile=world["p01"], token="tok-1b", platform="android")
    PushDevice.objects.create(profile=world["p01"], token="tok-1c", platform="web")
    assert profiles_reachability(Profile.objects.all())["push"] == EXPECTED["push"]


def test_a_push_profile_with_a_suppressed_and_an_open_device_stays_reachable_until_both_are_suppressed(world):
    assert Profile.objects.filter(contactable("push"), external_id="p06").exists()
    suppression_add(channel="push", address="tok-6b", reason="hard_bounce")
    assert not Profile.objects.filter(contactable("push"), external_id="p06").exists()
    assert profiles_reachability(Profile.objects.all())["push"] == counts(1, 4, 2, 3)


def test_it_composes_with_querysets_of_rows_that_point_at_a_profile(world):
    BookingFactory(profile=world["p08"], external_id="bk-1")
    BookingFactory(profile=world["p08"], external_id="bk-2")
    BookingFactory(profile=world["p02"], external_id="bk-3")
    assert sorted(Booking.objects.filter(contactable("email", via="profile")).values_list("external_id", flat=True)) == [
        "bk-1", "bk-2",
    ]  # fmt: skip
    reachable = Profile.objects.filter(Exists(Booking.objects.filter(profile=OuterRef("pk"))), contactable("email"))
    assert _keys(reachable) == ["p08"]


def test_direct_mail_suppressions_are_stored_in_the_key_form_profiles_are_matched_in(world):
    stored = set(Suppression.objects.filter(channel="direct_mail").values_list("address", flat=True))
    assert postal_address_key(**NOVA) in stored
    assert postal_address_key(**NOVA) == "rua nova 1, 4000-001, porto, pt"


def test_the_counts_of_no_profiles_are_zero(db):
    assert profiles_reachability(Profile.objects.none()) == {channel: counts(0, 0, 0, 0) for channel in EXPECTED}


def test_an_unknown_channel_is_refused_by_name(db):
    with pytest.raises(ValueError, match="Unknown channel 'fax'"):
        contactable("fax")


# -- the setting ------------------------------------------------------------------------------

DEFAULT = {"email": "not_opted_out", "sms": "opted_in", "push": "opted_in", "direct_mail": "not_opted_out"}
CHOICES = ("opted_in", "not_opted_out")


def test_the_default_policy_is_the_documented_one(settings):
    assert consent_policy() == DEFAULT


def test_the_setting_changes_only_the_channels_it_names(monkeypatch):
    monkeypatch.setenv("CONSENT_POLICY", '{"email": "opted_in"}')
    assert env_choice_map("CONSENT_POLICY", DEFAULT, CHOICES) == {**DEFAULT, "email": "opted_in"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("email=opted_in", "is not JSON"),
        ('["email"]', "must be a JSON object"),
        ('{"fax": "opted_in"}', "unknown keys 'fax': the keys are email, sms, push, direct_mail"),
        ('{"sms": "yes"}', "sms='yes' is not one of opted_in, not_opted_out"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_what_is_wrong(monkeypatch, raw, message):
    monkeypatch.setenv("CONSENT_POLICY", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_choice_map("CONSENT_POLICY", DEFAULT, CHOICES)


def test_a_policy_overridden_without_a_channel_is_refused_when_used(settings):
    settings.CONSENT_POLICY = {"email": "opted_in"}
    with pytest.raises(ImproperlyConfigured, match=r"CONSENT_POLICY\['sms'\] is None"):
        consent_policy()

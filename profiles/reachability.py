"""Who may be contacted on a channel, and if not, why: one definition for the reachability counts
a marketer sees and for the send pipeline's exclusions, so the number shown before a send is the
number sent.

A profile is contactable on a channel when, in this order (the first failing test is its reason):

1. `no_address`: it has an address for the channel. Email: `email` non-empty (stored lower-cased
   and validated on the way in); SMS: `phone` non-empty (E.164); push: an active push device;
   direct mail: a complete postal address (`address_line1`, `postal_code`, `city`, `country`).
2. `no_consent`: its consent on the channel passes the channel's policy (settings.CONSENT_POLICY):
   `opted_in` needs an opted-in consent, `not_opted_out` anything but an opted-out one.
3. `suppressed`: its address is not suppressed on the channel. Suppressions are keyed by
   (channel, normalised address): email lower-case, SMS E.164, push the device token (a profile is
   suppressed when every one of its active devices is), direct mail the postal address key
   (`postal_address_key`).

Everything is a Q or an expression over profiles (or, with `via`, over rows that point at a
profile: `contactable("email", via="profile")` on bookings), so it composes with any queryset and
runs in SQL.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Lower

from profiles.models import Channel, Consent, ConsentStatus, PushDevice, Suppression

CHANNELS: tuple[str, ...] = tuple(Channel.values)
OPTED_IN = "opted_in"
NOT_OPTED_OUT = "not_opted_out"
POLICIES = (OPTED_IN, NOT_OPTED_OUT)
REASONS = ("no_address", "no_consent", "suppressed")  # the order a profile is tested in
POSTAL_FIELDS = ("address_line1", "postal_code", "city", "country")


def consent_policy() -> dict[str, str]:
    """settings.CONSENT_POLICY, checked: every channel named, with a known policy."""
    policy = getattr(settings, "CONSENT_POLICY", None)
    if not isinstance(policy, dict):
        raise ImproperlyConfigured("CONSENT_POLICY must map each channel to opted_in or not_opted_out.")
    for channel in CHANNELS:
        if policy.get(channel) not in POLICIES:
            raise ImproperlyConfigured(
                f"CONSENT_POLICY[{channel!r}] is {policy.get(channel)!r}: use one of {', '.join(POLICIES)}."
            )
    return policy


def _check(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}: the channels are {', '.join(CHANNELS)}.")


def _field(via: str, name: str) -> str:
    return f"{via}__{name}" if via else name


def _profile_ref(via: str) -> OuterRef:
    return OuterRef(via or "pk")


def postal_address_key(*, address_line1: str, postal_code: str, city: str, country: str) -> str:
    """The form a direct mail suppression's address takes: the four lines joined by ", ",
    lower-cased (e.g. "rua augusta 10, 1100-053, lisboa, pt")."""
    return ", ".join(part.strip() for part in (address_line1, postal_code, city, country)).lower()


def normalise_postal_address(text: str) -> str:
    """A direct mail suppression as typed ("Rua Augusta 10,1100-053 , Lisboa, PT") in key form."""
    return ", ".join(" ".join(part.split()) for part in text.split(",")).lower()


def _postal_key_sql(via: str) -> Lower:
    parts: list[Any] = []
    for name in POSTAL_FIELDS:
        parts.extend([OuterRef(_field(via, name)), Value(", ")])
    return Lower(Concat(*parts[:-1], output_field=CharField()))


def has_address(channel: str, *, via: str = "") -> Q:
    _check(channel)
    if channel == Channel.EMAIL:
        return ~Q(**{_field(via, "email"): ""})
    if channel == Channel.SMS:
        return ~Q(**{_field(via, "phone"): ""})
    if channel == Channel.PUSH:
        return Q(Exists(PushDevice.objects.filter(profile=_profile_ref(via), active=True)))
    return Q(*(~Q(**{_field(via, name): ""}) for name in POSTAL_FIELDS))


def has_consent(channel: str, *, via: str = "") -> Q:
    """Consent by the channel's policy (settings.CONSENT_POLICY)."""
    _check(channel)
    consents = Consent.objects.filter(profile=_profile_ref(via), channel=channel)
    if consent_policy()[channel] == OPTED_IN:
        return Q(Exists(consents.filter(status=ConsentStatus.OPTED_IN)))
    return ~Q(Exists(consents.filter(status=ConsentStatus.OPTED_OUT)))


def is_suppressed(channel: str, *, via: str = "") -> Q:
    """The profile's address is suppressed (meaningful for profiles that have one)."""
    _check(channel)
    suppressions = Suppression.objects.filter(channel=channel)
    if channel == Channel.PUSH:  # suppressed when no active device has an unsuppressed token
        open_devices = PushDevice.objects.filter(profile=_profile_ref(via), active=True).exclude(
            Exists(suppressions.filter(address=OuterRef("token")))
        )
        return ~Q(Exists(open_devices))
    if channel == Channel.DIRECT_MAIL:
        return Q(Exists(suppressions.filter(address=_postal_key_sql(via))))
    name = "email" if channel == Channel.EMAIL else "phone"
    return Q(Exists(suppressions.filter(address=OuterRef(_field(via, name)))))


def contactable(channel: str, *, via: str = "") -> Q:
    """Profiles that may be contacted on the channel: an address, consent by the policy, not
    suppressed. `Profile.objects.filter(contactable("sms"))`."""
    return has_address(channel, via=via) & has_consent(channel, via=via) & ~is_suppressed(channel, via=via)


def unreachable_reason(channel: str, *, via: str = "") -> Case:
    """An expression: the first reason the profile cannot be contacted (`no_address`,
    `no_consent`, `suppressed`), or NULL when it can. The database stops at the first match."""
    return Case(
        When(~has_address(channel, via=via), then=Value("no_address")),
        When(~has_consent(channel, via=via), then=Value("no_consent")),
        When(is_suppressed(channel, via=via), then=Value("suppressed")),
        default=Value(None),
        output_field=CharField(),
    )


def channel_reachability(profiles: QuerySet, channel: str) -> dict[str, Any]:
    """{"reachable": n, "unreachable": {reason: n}} for a queryset of profiles, in one statement
    (each profile is counted once: pass a queryset without duplicate rows)."""
    rows = (
        profiles.order_by()
        .annotate(_reason=unreachable_reason(channel))
        .values("_reason")
        .annotate(_count=Count("pk"))
        .values_list("_reason", "_count")
    )
    counts = dict(rows)
    return {"reachable": counts.get(None, 0), "unreachable": {reason: counts.get(reason, 0) for reason in REASONS}}


def profiles_reachability(profiles: QuerySet) -> dict[str, dict[str, Any]]:
    """Per channel, how many of the profiles are reachable and how many not, by first reason."""
    return {channel: channel_reachability(profiles, channel) for channel in CHANNELS}

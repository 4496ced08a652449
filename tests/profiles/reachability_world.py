"""A hand-worked world for reachability: ten profiles whose every channel's outcome is known.

Default policy: email and direct mail "not opted out", SMS and push "opted in". Postal address
HOME = Rua Augusta 10, 1100-053, Lisboa, PT; NOVA = Rua Nova 1, 4000-001, Porto, PT (suppressed).

         email                        sms                         push                          direct mail
p01      a@ -> reachable              phone, in -> reachable      tok-1, in -> reachable         HOME -> reachable
p02      none -> no_address           none -> no_address          none -> no_address             none -> no_address
p03      b@, out -> no_consent        phone, none -> no_consent   tok-3, out -> no_consent       no city -> no_address
p04      c@ suppr. -> suppressed      phone in, suppr -> suppr.   tok-4 suppr, in -> suppressed  NOVA -> suppressed
p05      d@ out + suppr -> no_consent none (in) -> no_address     only inactive -> no_address    NOVA, out -> no_consent
p06      e@ in -> reachable           phone out -> no_consent     6a suppr, 6b open -> reachable none -> no_address
p07      none -> no_address           phone in -> reachable       7a, 7b suppr, 7c inactive      HOME (shared) -> reachable
                                                                   open, in -> suppressed
p08      f@ -> reachable              none -> no_address          none -> no_address             none -> no_address
p09      g@ in -> reachable           phone, none -> no_consent   tok-9, none -> no_consent      no country (in) -> no_address
p10      h@ (suppr. as H@) -> suppr.  phone in -> reachable       none -> no_address             HOME -> reachable
"""

import datetime as dt

from django.utils import timezone

from profiles.models import Consent, Profile, PushDevice
from profiles.services import suppression_add

HOME = {"address_line1": "Rua Augusta 10", "postal_code": "1100-053", "city": "Lisboa", "country": "PT"}
NOVA = {"address_line1": "Rua Nova 1", "postal_code": "4000-001", "city": "Porto", "country": "PT"}
WHEN = timezone.make_aware(dt.datetime(2026, 1, 1))


def counts(reachable, no_address, no_consent, suppressed):
    return {"reachable": reachable,
            "unreachable": {"no_address": no_address, "no_consent": no_consent, "suppressed": suppressed}}  # fmt: skip


EXPECTED = {
    "email": counts(4, 2, 2, 2),
    "sms": counts(3, 3, 3, 1),
    "push": counts(2, 4, 2, 2),
    "direct_mail": counts(3, 5, 1, 1),
}


def _profile(key, *, email="", phone="", consents=(), devices=(), **address):
    profile = Profile.objects.create(external_id=key, email=email, phone=phone, **{"country": "", **address})
    for channel, status in consents:
        Consent.objects.create(profile=profile, channel=channel, status=status, occurred_at=WHEN)
    for token, active in devices:
        PushDevice.objects.create(profile=profile, token=token, platform="ios", active=active)
    return profile


def build_world() -> dict[str, Profile]:
    p = {
        "p01": _profile("p01", email="a@example.com", phone="+351912345601", devices=[("tok-1", True)],
                        consents=[("sms", "opted_in"), ("push", "opted_in")], **HOME),
        "p02": _profile("p02"),
        "p03": _profile("p03", email="b@example.com", phone="+351912345603", devices=[("tok-3", True)],
                        consents=[("email", "opted_out"), ("push", "opted_out")], **{**HOME, "city": ""}),
        "p04": _profile("p04", email="c@example.com", phone="+351912345604", devices=[("tok-4", True)],
                        consents=[("sms", "opted_in"), ("push", "opted_in")], **NOVA),
        "p05": _profile("p05", email="d@example.com", devices=[("tok-5", False)],
                        consents=[("email", "opted_out"), ("sms", "opted_in"), ("push", "opted_in"),
                                  ("direct_mail", "opted_out")], **NOVA),
        "p06": _profile("p06", email="e@example.com", phone="+351912345606",
                        devices=[("tok-6a", True), ("tok-6b", True)],
                        consents=[("email", "opted_in"), ("sms", "opted_out"), ("push", "opted_in")]),
        "p07": _profile("p07", phone="+351912345607", devices=[("tok-7a", True), ("tok-7b", True), ("tok-7c", False)],
                        consents=[("sms", "opted_in"), ("push", "opted_in")], **HOME),
        "p08": _profile("p08", email="f@example.com"),
        "p09": _profile("p09", email="g@example.com", phone="+351912345609", devices=[("tok-9", True)],
                        consents=[("email", "opted_in"), ("direct_mail", "opted_in")],
                        **{**HOME, "country": ""}),
        "p10": _profile("p10", email="h@example.com", phone="+351912345610",
                        consents=[("sms", "opted_in")], **HOME),
    }  # fmt: skip
    for channel, address in [
        ("email", "c@example.com"), ("email", "d@example.com"), ("email", "H@Example.com"),
        ("sms", "+351 912 345 604"), ("sms", "+351912345699"),
        ("push", "tok-4"), ("push", "tok-6a"), ("push", "tok-7a"), ("push", "tok-7b"),
        ("direct_mail", "RUA NOVA 1,4000-001 ,  Porto, pt"), ("direct_mail", "Rua Outra 2, 1000-001, Lisboa, PT"),
    ]:  # fmt: skip
        suppression_add(channel=channel, address=address, reason="manual")
    return p

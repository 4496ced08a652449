"""The demo's audiences (seed_demo): a marketer's first screen shows audiences already calculated.

Five audiences over the demo customer store (profiles/demo.py): a rule on a profile field, one
over bookings, one with an aggregate, one with "has none", and an uploaded list. Written and
calculated through the audience services, as the admin would.
"""

from dataclasses import dataclass

from audiences.models import Audience, AudienceSnapshot
from audiences.services import audience_evaluate, audience_save, audience_upload_list

LIST_EVERY = 20  # the uploaded list: every 20th of the first 4,000 demo profiles
LIST_FROM = 4000


@dataclass(frozen=True)
class DemoAudience:
    slug: str
    name: str
    description: str
    dimension: str = "profile"
    rule: dict | None = None  # None: an uploaded list

    @property
    def kind(self) -> str:
        return Audience.Kind.RULE if self.rule is not None else Audience.Kind.LIST


DEMO_AUDIENCES = (
    DemoAudience(
        "gold-and-platinum", "Gold and platinum members",
        "Loyalty members of the two top tiers, for early access to offers.",
        rule={"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]},
    ),
    DemoAudience(
        "arriving-next-7-days", "Arriving in the next 7 days",
        "Confirmed stays that start within a week: one pre-arrival message per booking.",
        dimension="booking",
        rule={"all": [{"field": "status", "op": "eq", "value": "confirmed"},
                      {"field": "check_in", "op": "in_next_days", "value": 7}]},
    ),
    DemoAudience(
        "big-spenders-12-months", "Big spenders, last 12 months",
        "Customers whose purchases of the last 365 days add up to 1,000 or more.",
        rule={"agg": "sum", "of": "purchases.amount", "op": "gte", "value": 1000,
              "where": {"field": "purchased_at", "op": "in_last_days", "value": 365}},
    ),
    DemoAudience(
        "lapsed-iberia", "Lapsed customers in Portugal and Spain",
        "Customers in PT or ES with no purchase in the last 180 days, for a win-back offer.",
        rule={"all": [{"field": "country", "op": "in", "value": ["PT", "ES"]},
                      {"has": "purchases", "where": {"field": "purchased_at", "op": "in_last_days", "value": 180},
                       "count": {"op": "eq", "value": 0}}]},
    ),
    DemoAudience(
        "spring-fair-visitors", "Spring travel fair visitors",
        "The list of customers met at the spring travel fair, uploaded from the stand's scanner export.",
    ),
)  # fmt: skip


def demo_audiences_exist() -> bool:
    return Audience.objects.filter(slug__in=[spec.slug for spec in DEMO_AUDIENCES]).exists()


def fair_visitors() -> list[str]:
    """The uploaded list's external ids, taken from the demo profiles."""
    from profiles.models import Profile

    ids = Profile.objects.filter(external_id__startswith="cust-").order_by("external_id")
    return list(ids.values_list("external_id", flat=True)[:LIST_FROM])[::LIST_EVERY]


def seed_demo_audiences(*, acting_user=None) -> dict[str, AudienceSnapshot]:
    """Create and calculate the demo audiences; returns each one's snapshot by slug."""
    snapshots = {}
    for spec in DEMO_AUDIENCES:
        audience = audience_save(
            audience=Audience(
                slug=spec.slug, name=spec.name, description=spec.description,
                kind=spec.kind, dimension=spec.dimension, rule=spec.rule,
            ),
            acting_user=acting_user,
        )  # fmt: skip
        if spec.rule is None:
            snapshots[spec.slug] = audience_upload_list(
                audience=audience, values=fair_visitors(), acting_user=acting_user
            )
        else:
            snapshots[spec.slug] = audience_evaluate(audience=audience, acting_user=acting_user)
    return snapshots

"""Reachability of an audience or a preview: per channel, how many of its profiles can be
contacted and, for the others, the first reason why not (profiles/reachability.py).

Counts are of distinct profiles, not of members: an audience of bookings counts each booking's
profile once however many of its bookings are members, so on every channel
reachable + no_address + no_consent + suppressed = the number of distinct profiles among the
members. Members without a profile (a product audience) have nothing to reach: such a dimension
is refused with NoProfiles.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from audiences import dimensions as dims
from audiences.models import AudienceSnapshot, PopulationMember
from audiences.services.references import AudienceError, RuleTimeout
from audiences.timeouts import StatementTimeout, seconds, statement_timeout
from profiles.models import Profile
from profiles.reachability import profiles_reachability


class NoProfiles(AudienceError):
    """The dimension's rows are not people: there is no one to reach."""

    def __init__(self, dimension: dims.Dimension):
        super().__init__(
            f"{dimension.label} are not linked to profiles, so there is no one to reach: "
            "reachability needs a dimension whose rows belong to a profile."
        )


def _require_profiles(dimension: dims.Dimension) -> str:
    if dimension.profile_id_path is None:
        raise NoProfiles(dimension)
    return dimension.profile_id_path


def queryset_reachability(*, dimension: dims.Dimension, queryset: QuerySet) -> dict[str, dict[str, Any]]:
    """The reachability of a queryset of the dimension's rows (e.g. a compiled rule); runs in the
    caller's transaction and time limit."""
    path = _require_profiles(dimension)
    return profiles_reachability(Profile.objects.filter(pk__in=queryset.order_by().values(path)))


def snapshot_reachability(*, snapshot: AudienceSnapshot) -> dict[str, dict[str, Any]] | None:
    """The reachability of a snapshot's members (None when it has none yet), each statement under
    AUDIENCE_PREVIEW_TIMEOUT_MS (RuleTimeout past it)."""
    population = snapshot.population
    if population is None:
        return None
    _require_profiles(dims.get(population.dimension))
    members = PopulationMember.objects.filter(population_id=population.pk).values("profile_id")
    limit = settings.AUDIENCE_PREVIEW_TIMEOUT_MS
    try:
        with transaction.atomic(), statement_timeout(limit):
            return profiles_reachability(Profile.objects.filter(pk__in=members))
    except StatementTimeout:
        raise RuleTimeout(
            f"Counting who can be reached took longer than {seconds(limit)} and was stopped "
            "(AUDIENCE_PREVIEW_TIMEOUT_MS).",
            timeout_ms=limit,
        ) from None

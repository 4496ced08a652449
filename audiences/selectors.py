"""Reads over audiences: members with their external ids, streamed or a page at a time.

Who sees what: a member's external ids (and, in samples and distributions, its fields) are data
about a person, shown only to users with MEMBER_DETAILS, the permission to view profiles. Others
see sizes, counts and object ids: members as `object_id` and `profile_id` (internal ids), sample
rows as `id`; distributions are refused.
"""

from collections.abc import Iterator
from typing import Any

from audiences import dimensions as dims
from audiences.models import Population, PopulationMember

MEMBER_COLUMNS = ("object_id", "external_id", "profile_id", "profile_external_id")
MEMBER_ID_COLUMNS = ("object_id", "profile_id")  # without MEMBER_DETAILS
MEMBER_DETAILS = "profiles.view_profile"


def may_see_member_details(user) -> bool:
    return bool(user and user.has_perm(MEMBER_DETAILS))


def member_columns(*, details: bool) -> tuple[str, ...]:
    return MEMBER_COLUMNS if details else MEMBER_ID_COLUMNS


def _external_ids(model, ids) -> dict[int, str]:
    if not ids or not any(f.name == "external_id" for f in model._meta.concrete_fields):
        return {}
    return dict(model._default_manager.filter(pk__in=ids).values_list("pk", "external_id"))


def members_with_keys(population: Population, members: list[tuple[int, int | None]]) -> list[dict[str, Any]]:
    """[(object_id, profile_id)] -> rows with the object's and the profile's external ids."""
    from profiles.models import Profile

    dimension = dims.get(population.dimension)
    objects = _external_ids(dimension.model, [object_id for object_id, _ in members])
    profiles = _external_ids(Profile, [profile_id for _, profile_id in members if profile_id is not None])
    return [
        {"object_id": object_id, "external_id": objects.get(object_id), "profile_id": profile_id,
         "profile_external_id": profiles.get(profile_id)}
        for object_id, profile_id in members
    ]  # fmt: skip


def members_page(
    population: Population, *, after: int | None, limit: int, details: bool = False
) -> list[dict[str, Any]]:
    """Members in object id order after `after`; with external ids when `details`."""
    rows = PopulationMember.objects.filter(population_id=population.pk)
    if after is not None:
        rows = rows.filter(object_id__gt=after)
    members = list(rows.order_by("object_id").values_list("object_id", "profile_id")[:limit])
    if not details:
        return [{"object_id": object_id, "profile_id": profile_id} for object_id, profile_id in members]
    return members_with_keys(population, members)


def members_stream(population: Population, *, chunk: int = 5000, details: bool = False) -> Iterator[dict[str, Any]]:
    """Every member in object id order, fetched by keyset a chunk at a time (constant memory)."""
    after = None
    while True:
        page = members_page(population, after=after, limit=chunk, details=details)
        yield from page
        if len(page) < chunk:
            return
        after = page[-1]["object_id"]

"""Reads over audiences: members with their external ids, streamed or a page at a time."""

from collections.abc import Iterator
from typing import Any

from audiences import dimensions as dims
from audiences.models import Population, PopulationMember

MEMBER_COLUMNS = ("object_id", "external_id", "profile_id", "profile_external_id")


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


def members_page(population: Population, *, after: int | None, limit: int) -> list[dict[str, Any]]:
    rows = PopulationMember.objects.filter(population_id=population.pk)
    if after is not None:
        rows = rows.filter(object_id__gt=after)
    members = list(rows.order_by("object_id").values_list("object_id", "profile_id")[:limit])
    return members_with_keys(population, members)


def members_stream(population: Population, *, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Every member in object id order, fetched by keyset a chunk at a time (constant memory)."""
    after = None
    while True:
        page = members_page(population, after=after, limit=chunk)
        yield from page
        if len(page) < chunk:
            return
        after = page[-1]["object_id"]

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


# -- the member export: columns by name ------------------------------------------------------------

PROFILE_EXPORT_DEFAULTS = (
    "object_id", "external_id", "email", "phone", "first_name", "last_name", "country", "city", "loyalty_tier",
)  # fmt: skip
MAIN_FIELDS_EXPORTED = 6  # a non-profile dimension's first fields, by default
MAX_EXPORT_COLUMNS = 100
_ID_COLUMNS = {"object_id": "Object id", "profile_id": "Profile id"}


class ExportColumnsError(ValueError):
    """Columns asked for that the export does not have (or not for this user)."""


def _own_fields(dimension: dims.Dimension) -> dict[str, dims.Field]:
    return {f.name: f for f in dimension.fields}


def export_columns(dimension_key: str, *, details: bool) -> dict[str, str]:
    """The columns a member export may have, name -> label: ids for everyone; with `details`, the
    dimension's whitelisted fields and (for dimensions with a profile) `profile.<field>`."""
    if not details:
        return dict(_ID_COLUMNS)
    dimension = dims.get(dimension_key)
    found = {"object_id": "Object id", **{name: f.label for name, f in _own_fields(dimension).items()}}
    if dimension.key != "profile" and dimension.profile_path is not None:
        found["profile_id"] = "Profile id"
        found["profile_external_id"] = "Profile › External id"
        for name, f in _own_fields(dims.get("profile")).items():
            found[f"profile.{name}"] = f"Profile › {f.label}"
    return found


def default_export_columns(dimension_key: str, *, details: bool) -> list[str]:
    if not details:
        return list(MEMBER_ID_COLUMNS)
    available = export_columns(dimension_key, details=True)
    if dimension_key == "profile":
        return [name for name in PROFILE_EXPORT_DEFAULTS if name in available]
    dimension = dims.get(dimension_key)
    main = [f.name for f in dimension.fields if f.name != "external_id"][:MAIN_FIELDS_EXPORTED]
    keys = ["object_id", "external_id", "profile_external_id"]
    return [name for name in [*keys, *main] if name in available]


def resolve_export_columns(dimension_key: str, requested: str | None, *, details: bool) -> list[str]:
    """`a,b,c` as checked column names (duplicates dropped); None or "": the defaults. Raises
    ExportColumnsError naming the columns that are unknown or not for this user."""
    if not requested:
        return default_export_columns(dimension_key, details=details)
    names = list(dict.fromkeys(name.strip() for name in requested.split(",") if name.strip()))
    if len(names) > MAX_EXPORT_COLUMNS:
        raise ExportColumnsError(f"at most {MAX_EXPORT_COLUMNS} columns, not {len(names)}")
    available = export_columns(dimension_key, details=details)
    unknown = [name for name in names if name not in available]
    if unknown:
        shown = ", ".join(repr(name)[1:-1] for name in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ExportColumnsError(f"unknown columns: {shown}{more} (available: {', '.join(available)})")
    return names or default_export_columns(dimension_key, details=details)


def _values(model, ids, fields: dict[str, str]) -> dict[int, dict[str, Any]]:
    """{pk: {column: value}} for the objects `ids`, reading `fields` (column -> ORM path)."""
    if not ids or not fields:
        return {}
    rows = model._default_manager.filter(pk__in=ids).values("pk", *fields.values())
    return {row["pk"]: {column: row[path] for column, path in fields.items()} for row in rows}


def members_export(population: Population, columns: list[str], *, chunk: int = 2000) -> Iterator[list[Any]]:
    """Every member as a row of `columns` (checked by `resolve_export_columns`), in object id
    order, a chunk at a time (constant memory)."""
    from profiles.models import Profile

    dimension = dims.get(population.dimension)
    own, profile_fields = _own_fields(dimension), _own_fields(dims.get("profile"))
    object_paths = {name: own[name].path for name in columns if name in own}
    profile_paths = {name: profile_fields[name[8:]].path for name in columns if name.startswith("profile.")}
    if "profile_external_id" in columns:
        profile_paths["profile_external_id"] = "external_id"
    members = PopulationMember.objects.filter(population_id=population.pk).order_by("object_id")
    after = None
    while True:
        page = members.filter(object_id__gt=after) if after is not None else members
        batch = list(page.values_list("object_id", "profile_id")[:chunk])
        objects = _values(dimension.model, [object_id for object_id, _ in batch], object_paths)
        profiles = _values(Profile, {p for _, p in batch if p is not None}, profile_paths)
        for object_id, profile_id in batch:
            found = {"object_id": object_id, "profile_id": profile_id, **objects.get(object_id, {}),
                     **profiles.get(profile_id, {})}  # fmt: skip
            yield [found.get(name) for name in columns]
        if len(batch) < chunk:
            return
        after = batch[-1][0]

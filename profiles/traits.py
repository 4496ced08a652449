"""Custom traits: declaring, retyping and removing the typed keys of `Profile.attributes`
that audience rules read as `attributes.<key>`.

A trait an audience's rule uses keeps its key and type (the rule would silently change meaning
or stop validating); its label and description may change at any time.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from profiles.models import CustomAttribute


class TraitInUse(ValueError):
    """The change would break the rules of the audiences named in the message."""

    def __init__(self, message: str, audiences: list[str]):
        self.audiences = audiences
        super().__init__(message)


def _names_trait(field: Any, key: str) -> bool:
    """A rule's field name reads the trait: `attributes.<key>`, or through a link
    (`profile.attributes.<key>` on bookings)."""
    return isinstance(field, str) and (field == f"attributes.{key}" or field.endswith(f".attributes.{key}"))


def _rule_uses(rule: Any, key: str) -> bool:
    stack = [rule]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _names_trait(item.get("field"), key):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def trait_usages(key: str) -> list[str]:
    """The audiences whose rule uses the trait, as `"Name" (slug)`, by name."""
    from audiences.models import Audience

    audiences = Audience.objects.order_by("name").only("name", "slug", "rule")
    return [f'"{a.name}" ({a.slug})' for a in audiences.iterator(chunk_size=500) if _rule_uses(a.rule, key)]


def _refuse_if_used(attribute: CustomAttribute, doing: str) -> None:
    usages = trait_usages(attribute.key)
    if usages:
        raise TraitInUse(
            f'Custom trait "{attribute.key}" cannot {doing}: it is used by the rules of '
            f"{'audience' if len(usages) == 1 else 'audiences'} {', '.join(usages)}. "
            "Change those rules first.",
            usages,
        )


def custom_attribute_check_change(*, stored: CustomAttribute, key: str, type_: str) -> None:
    """Raise (ValueError, or TraitInUse) if a saved trait may not take this key or type."""
    if key != stored.key:
        raise ValueError(
            f'The key of custom trait "{stored.key}" cannot change (rules name it); declare a new trait instead.'
        )
    if type_ != stored.type:
        _refuse_if_used(stored, f"change from {stored.type} to {type_}")


@transaction.atomic
def custom_attribute_save(*, attribute: CustomAttribute, data: dict[str, Any]) -> CustomAttribute:
    """Create or update a trait from `data` (key, label, type, description). The key of a
    saved trait is fixed; its type changes only while no audience rule uses it."""
    if attribute.pk is not None:
        stored = CustomAttribute.objects.select_for_update().get(pk=attribute.pk)
        custom_attribute_check_change(
            stored=stored, key=data.get("key", stored.key), type_=data.get("type", stored.type)
        )
    for name in ("key", "label", "type", "description"):
        if name in data:
            setattr(attribute, name, data[name])
    attribute.full_clean()
    try:
        with transaction.atomic():  # a savepoint: another request may declare the same key first
            attribute.save()
    except IntegrityError:
        raise ValidationError({"key": [f'A custom trait with the key "{attribute.key}" already exists.']}) from None
    return attribute


@transaction.atomic
def custom_attribute_delete(*, attribute: CustomAttribute) -> None:
    """Delete a trait no audience rule uses (the profiles' values stay in their attributes)."""
    _refuse_if_used(attribute, "be deleted")
    attribute.delete()

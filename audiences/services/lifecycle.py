"""Creating, changing and deleting audiences, with their refresh schedules."""

from datetime import datetime

from croniter import croniter
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_q.models import Schedule

from audiences import dimensions as dims
from audiences.models import Audience
from audiences.rules.parser import RuleError, referenced_audiences
from audiences.services.references import AudienceError, AudienceInUse, audience_usages, rule_validate


def audience_validate(*, audience: Audience) -> None:
    """Check an audience as `audience_save` would, without saving: raises ValidationError with
    a message list per field (the rule's messages carry their paths)."""
    errors: dict[str, list[str]] = {}
    try:
        dims.get(audience.dimension)
    except KeyError:
        errors["dimension"] = [f'unknown dimension "{audience.dimension}"']
    if audience.kind == Audience.Kind.RULE and "dimension" not in errors:
        if audience.rule is None:
            errors["rule"] = ["a rule audience needs a rule"]
        else:
            try:
                rule_validate(dimension=audience.dimension, rule=audience.rule, audience=audience)
            except RuleError as exc:
                errors["rule"] = [f"{path}: {message}" if path else message for path, message in exc.problems]
    elif audience.kind != Audience.Kind.RULE and audience.rule:
        errors["rule"] = ["only rule audiences have a rule"]
    if audience.refresh_cron:
        if audience.kind != Audience.Kind.RULE:
            errors["refresh_cron"] = ["only rule audiences are re-evaluated on a schedule"]
        elif not croniter.is_valid(audience.refresh_cron):
            errors["refresh_cron"] = [f'"{audience.refresh_cron}" is not a cron expression (e.g. "0 6 * * *")']
    if audience.pk:
        previous = Audience.objects.filter(pk=audience.pk).values("slug", "dimension").first()
        if previous and previous["slug"] != audience.slug and audience.used_by.exists():
            errors["slug"] = ["other audiences refer to this slug; it cannot change while they do"]
        if previous and previous["dimension"] != audience.dimension and audience.snapshots.exists():
            errors["dimension"] = ["an evaluated audience keeps its dimension; create a new audience instead"]
    try:
        audience.full_clean(exclude=["rule"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


class AudienceGone(AudienceError):
    """The audience was deleted while it was being changed."""


# Written by evaluation, uploads and campaigns, never by an edit: an edit made from a copy read
# before an evaluation finished must not point the audience back to an older snapshot.
_NOT_EDITED = {"id", "latest_snapshot", "created_by", "created_at"}


@transaction.atomic
def audience_save(*, audience: Audience, acting_user=None) -> Audience:
    """Create or update an audience: validate everything (the rule with its paths), save,
    record which audiences it uses, and install or remove its refresh schedule.

    An update locks the audience's row first, so it cannot race a delete: if the audience is
    gone, AudienceGone (an edit never brings a deleted audience back)."""
    if audience.pk is not None and not Audience.objects.select_for_update().filter(pk=audience.pk).exists():
        raise AudienceGone(f'The audience "{audience.name}" no longer exists (deleted).')
    audience_validate(audience=audience)
    if audience.pk is None:
        if acting_user is not None and acting_user.is_authenticated:
            audience.created_by = acting_user
        audience.save()
    else:
        fields = [f.name for f in Audience._meta.concrete_fields if f.name not in _NOT_EDITED]
        try:
            with transaction.atomic():  # a savepoint: the check below can still query
                audience.save(update_fields=fields, force_update=True)
        except DatabaseError:  # no row to update: deleted after all (a backend without row locks)
            if Audience.objects.filter(pk=audience.pk).exists():
                raise
            raise AudienceGone(f'The audience "{audience.name}" no longer exists (deleted).') from None
    slugs = referenced_audiences(audience.rule) if audience.kind == Audience.Kind.RULE else set()
    audience.uses.set(Audience.objects.filter(slug__in=slugs))
    _sync_schedule(audience)
    return audience


def _schedule_name(audience: Audience) -> str:
    return f"audience:{audience.pk}"


def _sync_schedule(audience: Audience) -> None:
    if not audience.refresh_cron:
        Schedule.objects.filter(name=_schedule_name(audience)).delete()
        return
    Schedule.objects.update_or_create(
        name=_schedule_name(audience),
        defaults={
            "func": "audiences.tasks.evaluate_audience",
            "kwargs": repr({"audience_id": audience.pk, "trigger": "schedule"}),
            "schedule_type": Schedule.CRON,
            "cron": audience.refresh_cron,
            "repeats": -1,
            "next_run": croniter(audience.refresh_cron, timezone.localtime()).get_next(datetime),
        },
    )


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    Audience.objects.select_for_update().filter(pk=audience.pk).exists()  # waits for an edit under way
    usages = audience_usages(audience)
    if usages:
        raise AudienceInUse(audience, usages)
    Schedule.objects.filter(name=_schedule_name(audience)).delete()
    Audience.objects.filter(pk=audience.pk).update(latest_snapshot=None)
    audience.delete()  # snapshots go with it; their populations are purged by retention

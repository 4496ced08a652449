import time

from django.core.management.base import BaseCommand, CommandError

from audiences.models import Audience
from audiences.rules.parser import RuleError
from audiences.services import AudienceError, RuleTimeout, audience_evaluate


class Command(BaseCommand):
    help = "Evaluate a rule audience now (by slug or id) and print its size and timing."

    def add_arguments(self, parser):
        parser.add_argument("audience", help="The audience's slug or id (a slug made of digits wins over an id).")

    def handle(self, *args, audience, **options):
        found = _find(audience)
        if found is None:
            raise CommandError(f"No audience with the slug or id {audience!r}.")
        started = time.monotonic()
        try:
            snapshot = audience_evaluate(audience=found, trigger="command")
        except (AudienceError, RuleError, RuleTimeout) as exc:  # the message says why
            raise CommandError(str(exc)) from None
        total = time.monotonic() - started
        self.stdout.write(
            f"{found.slug}: {snapshot.size} {found.dimension_label.lower()} "
            f"(evaluation {snapshot.duration_ms} ms, {total:.2f} s in all; snapshot {snapshot.pk})"
        )


def _find(slug_or_id: str) -> Audience | None:
    """By slug first: slugs may be all digits ("2026"), so a number is an id only if no slug matches."""
    found = Audience.objects.filter(slug=slug_or_id).first()
    if found is None and slug_or_id.isascii() and slug_or_id.isdecimal():
        found = Audience.objects.filter(pk=int(slug_or_id)).first()
    return found

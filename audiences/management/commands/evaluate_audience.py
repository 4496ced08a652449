import time

from django.core.management.base import BaseCommand, CommandError

from audiences.models import Audience
from audiences.rules.parser import RuleError
from audiences.services import AudienceError, audience_evaluate


class Command(BaseCommand):
    help = "Evaluate a rule audience now (by slug or id) and print its size and timing."

    def add_arguments(self, parser):
        parser.add_argument("audience", help="The audience's slug or id.")

    def handle(self, *args, audience, **options):
        lookup = {"pk": int(audience)} if audience.isdigit() else {"slug": audience}
        found = Audience.objects.filter(**lookup).first()
        if found is None:
            raise CommandError(f"No audience {audience!r}.")
        started = time.monotonic()
        try:
            snapshot = audience_evaluate(audience=found, trigger="command")
        except (AudienceError, RuleError) as exc:
            raise CommandError(str(exc)) from None
        total = time.monotonic() - started
        self.stdout.write(
            f"{found.slug}: {snapshot.size} {found.dimension_label.lower()} "
            f"(evaluation {snapshot.duration_ms} ms, {total:.2f} s in all; snapshot {snapshot.pk})"
        )

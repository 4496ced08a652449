"""Admin forms for audiences: the audience itself (its rule edited by the rule builder), a list
upload, and the distribution tool's field picker.

The forms parse input only; what makes an audience valid is decided by `audiences.services`.
"""

import csv
import io
import re
from datetime import time

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from audiences import dimensions as dims
from audiences import services
from audiences.models import Audience
from audiences.selectors import default_export_columns, export_columns

_PATH = re.compile(r"^([a-z_]+(?:\[\d+\])*(?:\.[a-z_]+(?:\[\d+\])*)*): (.+)$", re.DOTALL)


def rule_problems(messages: list[str]) -> list[dict[str, str]]:
    """The service's "path: message" strings as [{"path", "message"}] for the rule builder."""
    problems = []
    for text in messages:
        match = _PATH.match(str(text))
        problems.append({"path": match[1], "message": match[2]} if match else {"path": "", "message": str(text)})
    return problems


class RuleBuilderWidget(forms.Textarea):
    """The rule as JSON in a textarea, with a place for the rule builder (rule-builder.js) above it.

    Without JavaScript the textarea is the editor; with it, the builder writes the textarea and
    the textarea sits in a collapsed "Advanced: edit the rule as JSON" section.
    """

    template_name = "django/forms/widgets/textarea.html"

    class Media:
        js = ["audiences/rule-builder.js"]  # its CSS is audience-admin.css, linked by the change page

    def __init__(self, attrs=None):
        super().__init__({"rows": 12, "cols": 80, "class": "rule-json", "spellcheck": "false", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        textarea = super().render(name, value, attrs, renderer)
        return format_html(
            '<div class="rule-builder" data-rule-input="{}" hidden></div>'
            '<details class="rule-advanced"><summary>Advanced: edit the rule as JSON</summary>{}'
            '<p class="rule-advanced-tools"><button type="button" class="button rule-apply-json">'
            'Apply JSON to the builder</button> <span class="rule-json-error"></span></p></details>',
            (attrs or {}).get("id", ""),
            textarea,
        )


DIMENSION_LABEL = "Targeting dimension"
DIMENSION_HELP = (
    "What each member is: a profile, a booking, a purchase... "
    "An audience over bookings holds bookings (each with its profile)."
)

WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("0", "Sunday"),
]  # fmt: skip  (cron numbers: 0 is Sunday)
SCHEDULES = [("never", "Never (on demand)"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"),
             ("advanced", "Advanced: cron expression")]  # fmt: skip
_SIMPLE_CRON = re.compile(r"^(\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|\d)$")


def schedule_cron(kind: str, *, at: time | None = None, weekday: str = "", day: int | None = None) -> str:
    """The cron expression for a simple schedule ("daily", "weekly", "monthly"); "" for "never"."""
    if kind == "never" or at is None:
        return ""
    dom, dow = {"daily": ("*", "*"), "weekly": ("*", weekday), "monthly": (str(day), "*")}[kind]
    return f"{at.minute} {at.hour} {dom} * {dow}"


def cron_schedule(cron: str) -> dict:
    """The simple schedule a cron expression is, or {"schedule": "advanced"}; the inverse of
    `schedule_cron` (a cron it would not write back exactly stays under Advanced)."""
    if not cron:
        return {"schedule": "never"}
    match = _SIMPLE_CRON.match(cron)
    if match:
        minute, hour, dom, dow = int(match[1]), int(match[2]), match[3], match[4]
        if minute < 60 and hour < 24:
            at = time(hour, minute)
            if dom == "*" and dow == "*":
                found = {"schedule": "daily", "schedule_time": at}
            elif dom == "*" and dow in dict(WEEKDAYS):
                found = {"schedule": "weekly", "schedule_time": at, "schedule_weekday": dow}
            elif dow == "*" and dom != "*" and 1 <= int(dom) <= 28:
                found = {"schedule": "monthly", "schedule_time": at, "schedule_day": int(dom)}
            else:
                found = None
            if (
                found
                and schedule_cron(
                    found["schedule"], at=at, weekday=found.get("schedule_weekday", ""), day=found.get("schedule_day")
                )
                == cron
            ):
                return found
    return {"schedule": "advanced"}


class AudienceForm(forms.ModelForm):
    """The audience; its refresh schedule is picked as daily / weekly / monthly (or a cron
    expression under Advanced) and stored as `refresh_cron`."""

    dimension = forms.ChoiceField(choices=dims.choices, label=DIMENSION_LABEL, help_text=DIMENSION_HELP)
    rule = forms.JSONField(
        required=False,
        widget=RuleBuilderWidget,
        help_text="Rule audiences only. Build it with the conditions above; Count shows how many match now.",
    )
    schedule = forms.ChoiceField(choices=SCHEDULES, required=False, label="Refresh", initial="never")
    schedule_weekday = forms.ChoiceField(choices=[("", "---------"), *WEEKDAYS], required=False, label="On")
    schedule_day = forms.IntegerField(min_value=1, max_value=28, required=False, label="On day (1 to 28)")
    schedule_time = forms.TimeField(
        required=False,
        label="At",
        input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time", "placeholder": "HH:MM"}),
    )

    class Meta:
        model = Audience
        fields = ("name", "slug", "description", "kind", "dimension", "rule", "refresh_cron")
        labels = {"refresh_cron": "Cron expression"}
        help_texts = {"refresh_cron": 'Advanced only: minute hour day month weekday, e.g. "0 6 * * 1-5".'}

    class Media:
        js = ["audiences/schedule-picker.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shown = set(self._meta.fields or ())  # the admin leaves out the rule and schedule of a list audience
        for name in [*self.declared_fields]:
            if (name.startswith("schedule") and "refresh_cron" not in shown) or (name == "rule" and name not in shown):
                del self.fields[name]
        if "kind" in self.fields:  # saved audiences are written by campaigns, never picked here
            self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0] != Audience.Kind.SAVED]
        if "schedule" in self.fields:
            zone = settings.TIME_ZONE
            self.fields[
                "schedule"
            ].help_text = f"When to re-evaluate the rule. Times are in the site time zone ({zone})."
            if not self.is_bound:
                self.initial.update(cron_schedule(self.instance.refresh_cron or ""))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") and cleaned["kind"] != Audience.Kind.RULE:
            cleaned["rule"] = None  # the builder is hidden for uploaded and saved audiences
        if "schedule" in self.fields:
            self._clean_schedule(cleaned)
        return cleaned

    def _clean_schedule(self, cleaned: dict) -> None:
        kind = cleaned.get("schedule") or ("advanced" if cleaned.get("refresh_cron") else "never")
        at = cleaned.get("schedule_time")
        missing = {
            "schedule_time": kind in ("daily", "weekly", "monthly") and at is None,
            "schedule_weekday": kind == "weekly" and not cleaned.get("schedule_weekday"),
            "schedule_day": kind == "monthly" and cleaned.get("schedule_day") is None,
            "refresh_cron": kind == "advanced" and not cleaned.get("refresh_cron"),
        }
        messages = {
            "schedule_time": "Give the time of day (HH:MM).",
            "schedule_weekday": "Pick the day of the week.",
            "schedule_day": "Give the day of the month (1 to 28).",
            "refresh_cron": 'Give a cron expression, or pick "Never (on demand)".',
        }
        for name, is_missing in missing.items():
            if is_missing and name not in self.errors:
                self.add_error(name, messages[name])
        if kind != "advanced" and not any(missing.values()) and not set(missing) & set(self.errors):
            cleaned["refresh_cron"] = schedule_cron(
                kind, at=at, weekday=cleaned.get("schedule_weekday") or "", day=cleaned.get("schedule_day")
            )

    def _post_clean(self):
        super()._post_clean()
        if {"kind", "dimension", "rule"} & set(self.errors):
            return  # the service would judge a half-parsed audience
        try:
            # The same validation audience_save runs (save_model calls it again, in its transaction).
            services.audience_validate(audience=self.instance)
        except ValidationError as exc:
            self._add_service_errors(exc)

    def _add_service_errors(self, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            if name == "refresh_cron" and self.cleaned_data.get("schedule") not in (None, "", "advanced"):
                name = "schedule"  # the picked schedule, not the hidden cron box, is what to change
            field = name if name in self.fields else None
            shown = self.errors.get(field or "__all__", [])
            for message in messages:
                if message not in shown:
                    self.add_error(field, message if field else f"{name}: {message}")


class ListUploadForm(forms.Form):
    """The members of a list audience: a CSV file and/or pasted values."""

    file = forms.FileField(
        required=False,
        help_text="CSV (UTF-8): the column named like the key below, or else the first column.",
    )
    values = forms.CharField(
        required=False,
        label="Or paste",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "placeholder": "cust-00001\ncust-00002"}),
        help_text="One per line (commas and spaces separate too).",
    )
    key = forms.ChoiceField(choices=[("external_id", "External id"), ("email", "Email")], initial="external_id")

    def __init__(self, *args, dimension: str = "profile", **kwargs):
        super().__init__(*args, **kwargs)
        if dimension != "profile":  # only profiles are named by email
            self.fields["key"].choices = [("external_id", "External id")]

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get("key") or "external_id"
        values = [value for value in re.split(r"[\s,;]+", cleaned.get("values") or "") if value]
        upload = cleaned.get("file")
        if upload is not None:
            try:
                values += _csv_values(upload.read().decode("utf-8-sig"), key)
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
        if not values and not self.errors:
            raise ValidationError("Upload a CSV file or paste the ids.")
        cleaned["parsed_values"] = values
        return cleaned


def _csv_values(text: str, key: str) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = 0
    if key in header:
        column, rows = header.index(key), rows[1:]
    elif header[0] in ("external_id", "email", "id"):
        rows = rows[1:]
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def field_choices(dimension: str, *, depth: int = 2) -> list[tuple[str, str]]:
    """The dimension's whitelisted fields and to-one paths (`product.category`), labelled."""
    found: list[tuple[str, str]] = []

    def walk(dim: dims.Dimension, prefix: str, label: str, seen: tuple[str, ...]) -> None:
        for field in dim.fields:
            found.append((f"{prefix}{field.name}", f"{label}{field.label}"))
        if len(seen) > depth:
            return
        for link, target in dim.to_one.items():
            if target not in seen:
                walk(
                    dims.get(target),
                    f"{prefix}{link}.",
                    f"{label}{link.replace('_', ' ').capitalize()} › ",
                    (*seen, target),
                )

    walk(dims.get(dimension), "", "", (dimension,))
    return found


class DistributionForm(forms.Form):
    distribution = forms.ChoiceField(label="Field")

    def __init__(self, *args, dimension: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["distribution"].choices = field_choices(dimension)


class ExportColumnsForm(forms.Form):
    """The member export's columns, ticked: the dimension's whitelisted fields (and the
    profile's, for users who may view profiles); submitted to the API's CSV export."""

    columns = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Columns")

    def __init__(self, *args, dimension: str, details: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = list(export_columns(dimension, details=details).items())
        self.fields["columns"].initial = default_export_columns(dimension, details=details)

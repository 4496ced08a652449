"""Admin forms for audiences: the audience itself (its rule edited by the rule builder), a list
upload, and the distribution tool's field picker.

The forms parse input only; what makes an audience valid is decided by `audiences.services`.
"""

import csv
import io
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from audiences import dimensions as dims
from audiences import services
from audiences.models import Audience

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


class AudienceForm(forms.ModelForm):
    dimension = forms.ChoiceField(choices=dims.choices, help_text="What the audience is made of.")
    rule = forms.JSONField(
        required=False,
        widget=RuleBuilderWidget,
        help_text="Rule audiences only. Build it with the conditions above; Count shows how many match now.",
    )

    class Meta:
        model = Audience
        fields = ("name", "slug", "description", "kind", "dimension", "rule", "refresh_cron")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") and cleaned["kind"] != Audience.Kind.RULE:
            cleaned["rule"] = None  # the builder is hidden for uploaded and saved audiences
        return cleaned

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

"""CSV/JSONL import pages and CSV export actions for the customer store's changelists.

Import goes through `profiles.ingestion.files.import_stream`, the same path as `import_data`
and the bulk API. Export writes the import's own columns (references as external ids), so an
exported file can be edited and imported back.
"""

import datetime as dt
import json
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from config.admin_utils import ObjectToolsMixin, csv_streaming_response
from profiles.ingestion.files import FORMATS, ImportFileError, format_error, import_stream, open_text
from profiles.ingestion.specs import KEY_FIELD, SPECS
from profiles.services import CONSENT_FIELDS

EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def export_columns(kind: str) -> list[tuple[str, str]]:
    """(CSV column, queryset path) for an import kind; a reference is its row's external id."""
    if kind == "consents":
        return [(name, "profile__external_id" if name == "profile" else name) for name in CONSENT_FIELDS]
    columns = [(KEY_FIELD, KEY_FIELD)]
    for name, spec in SPECS[kind].fields.items():
        columns.append((name, f"{name}__{KEY_FIELD}" if spec.reference else name))
    return columns


def csv_cell(value: Any) -> str:
    """A value as the importer reads it back; an empty cell means "not given"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return str(value)


class ImportFileForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 text. CSV: a header row of column names. JSON Lines: one object a line.")
    format = forms.ChoiceField(
        choices=[("", "From the file name (.csv, .jsonl)"), *((fmt, fmt.upper()) for fmt in FORMATS)],
        required=False,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ADMIN_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; the admin imports files up to {limit / 1e6:.0f} MB. "
                "Import larger files with the import_data command."
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("format"):
            fmt = EXTENSIONS.get(PurePath(upload.name).suffix.lower())
            if fmt is None:
                self.add_error("format", "Cannot tell the format from the file name: choose CSV or JSONL.")
            cleaned["format"] = fmt
        return cleaned


class ImportExportMixin(ObjectToolsMixin):
    """An "Import CSV/JSONL" page linked from the changelist, and an "Export selected as CSV" action.

    Set `import_kind` (a kind of `import_stream`); list "export_csv" in `actions`. Importing needs
    the permissions in `import_permissions` (default: add and change on the model).
    """

    import_kind: str
    import_permissions: tuple[str, ...] = ()
    import_errors_shown = 50

    def has_import_permission(self, request) -> bool:
        opts = self.opts
        needed = self.import_permissions or (
            f"{opts.app_label}.add_{opts.model_name}",
            f"{opts.app_label}.change_{opts.model_name}",
        )
        return request.user.has_perms(needed)

    def changelist_tools(self, request):
        tools = super().changelist_tools(request)
        if self.has_import_permission(request):
            tools.append(("Import CSV/JSONL", reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")))
        return tools

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [path("import/", self.admin_site.admin_view(self.import_view), name=name), *super().get_urls()]

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportFileForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = self._import(form)
            if report is not None:
                level = messages.WARNING if report.rejected else messages.SUCCESS
                messages.add_message(request, level, f"Imported {self.import_kind}: {report.summary()}.")
        columns = [name for name, _ in export_columns(self.import_kind)]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Import {self.opts.verbose_name_plural}",
            "form": form,
            "kind": self.import_kind,
            "columns": columns,
            "report": report,
            "errors_shown": [format_error(error) for error in report.errors[: self.import_errors_shown]]
            if report
            else [],
            "errors_hidden": max(0, report.rejected - self.import_errors_shown) if report else 0,
            "has_view_permission": self.has_view_permission(request),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/import_file.html", context)

    def _import(self, form):
        upload = form.cleaned_data["file"]
        upload.seek(0)
        stream = open_text(upload)
        try:
            return import_stream(kind=self.import_kind, stream=stream, fmt=form.cleaned_data["format"])
        except ImportFileError as exc:
            form.add_error("file", f"Nothing was imported: {exc}")
        finally:
            stream.detach()
        return None

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        columns = export_columns(self.import_kind)
        rows = queryset.order_by("pk").values_list(*(path for _, path in columns)).iterator(chunk_size=2000)
        filename = f"{self.import_kind}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return csv_streaming_response(
            filename=filename,
            header=[name for name, _ in columns],
            rows=([csv_cell(value) for value in row] for row in rows),
        )

import json

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Booking, Consent, Profile
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def run(kind, path, *args):
    try:
        call_command("import_data", kind, str(path), "--no-progress", *args)
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_a_clean_csv_imports_everything(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text(
        "external_id,email,phone,country,birth_date,attributes.vip\n"
        "c1,C1@example.com,912345678,PT,1990-05-01,yes\n"
        "c2,c2@example.com,,ES,,\n",
        encoding="utf-8",
    )
    assert run("profiles", path) == 0
    assert "2 records: 2 created, 0 updated, 0 rejected" in capsys.readouterr().out
    c1 = Profile.objects.get(external_id="c1")
    assert (c1.email, c1.phone, c1.attributes) == ("c1@example.com", "+351912345678", {"vip": "yes"})


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_is_imported(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text(
        "external_id,email,country\nc1,ok@example.com,PT\nc2,broken,PT\nc3,fine@example.com,XX\nc4,four@example.com,ES\n"
    )
    assert run("profiles", path) == 1
    captured = capsys.readouterr()
    assert "4 records: 2 created, 0 updated, 2 rejected" in captured.out
    assert "line 3 (c2): email: 'broken' is not a valid email address" in captured.err
    assert "line 4 (c3): country:" in captured.err
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == ["c1", "c4"]


def test_an_empty_cell_leaves_the_stored_value(tmp_path):
    Profile.objects.create(external_id="c1", email="keep@example.com", city="Porto")
    path = tmp_path / "p.csv"
    path.write_text("external_id,email,city\nc1,,Lisboa\n")
    assert run("profiles", path) == 0
    assert Profile.objects.filter(email="keep@example.com", city="Lisboa").exists()


def test_an_unknown_column_stops_the_import_before_anything_is_written(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("external_id,emial\nc1,x@example.com\n")
    with pytest.raises(CommandError, match="Unknown column.*'emial'"):
        run("profiles", path)
    assert not Profile.objects.exists()


def test_jsonl_entities_with_a_broken_line(tmp_path, capsys):
    Profile.objects.create(external_id="c1")
    ProductFactory(external_id="SKU-1")
    lines = [
        json.dumps({"external_id": "b1", "profile": "c1", "product": "SKU-1", "status": "confirmed"}),
        "{not json",
        "",
        json.dumps({"external_id": "b2", "profile": "c9", "product": "SKU-1"}),
    ]
    path = tmp_path / "bookings.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert run("bookings", path, "--batch-size", "1") == 1
    err = capsys.readouterr().err
    assert "line 2: is not valid JSON" in err
    assert "line 4 (b2): profile: unknown profile 'c9'" in err
    assert list(Booking.objects.values_list("external_id", flat=True)) == ["b1"]


def test_consent_events_import(tmp_path):
    Profile.objects.create(external_id="c1")
    path = tmp_path / "consents.csv"
    path.write_text(
        "profile,channel,status,source,occurred_at\n"
        "c1,email,opted_out,import,2026-02-01T00:00:00Z\n"
        "c1,email,opted_in,import,2026-01-01T00:00:00Z\n"
    )
    assert run("consents", path) == 0
    assert Consent.objects.get().status == "opted_out"


def test_the_format_must_be_known(tmp_path):
    path = tmp_path / "profiles.xlsx"
    path.write_text("x")
    with pytest.raises(CommandError, match="--format"):
        run("profiles", path)
    with pytest.raises(CommandError, match="Cannot open"):
        run("profiles", tmp_path / "missing.csv")

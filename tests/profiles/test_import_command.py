import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from profiles.ingestion import files, parallel
from profiles.ingestion.specs import SPECS
from profiles.models import Booking, Consent, Product, Profile
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


# -- --jobs: worker processes (PostgreSQL) ------------------------------------------------------


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need PostgreSQL; on SQLite the import runs in one process")


@pytest.fixture
def parallel_runs(monkeypatch):
    """Counts the imports that really went to worker processes."""
    calls = []

    def spy(**kwargs):
        calls.append(kwargs["jobs"])
        return real(**kwargs)

    real = parallel.import_stream
    monkeypatch.setattr(parallel, "import_stream", spy)
    return calls


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_jobs_keep_the_file_order_of_a_key_repeated_across_batches(tmp_path, capsys, parallel_runs):
    _needs_postgresql()
    lines = ["external_id,email,city,attributes.n"]
    expected = {}
    for i in range(80):
        key = f"k{i % 7}"
        city = "" if i % 3 == 0 else f"city-{i}"  # an empty cell keeps the earlier value
        lines.append(f"{key},{key}.{i}@example.com,{city},{i}")
        expected[key] = (f"{key}.{i}@example.com", city or expected.get(key, ("", ""))[1], {"n": str(i)})
    lines.insert(20, "k1,not-an-email,Nowhere,")  # line 21: rejected, k1 otherwise unaffected
    path = tmp_path / "profiles.csv"
    path.write_text("\n".join(lines) + "\n")
    assert run("profiles", path, "--batch-size", "3", "--jobs", "3") == 1
    captured = capsys.readouterr()
    assert "81 records: 7 created, 73 updated, 1 rejected" in captured.out
    assert "line 21 (k1): email: 'not-an-email' is not a valid email address" in captured.err
    assert parallel_runs == [3]
    stored = {p.external_id: (p.email, p.city, p.attributes) for p in Profile.objects.all()}
    assert stored == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_jobs_read_quoted_multi_line_cells_blank_lines_and_crlf_as_one_process_does(tmp_path, capsys, parallel_runs):
    _needs_postgresql()
    rows = [
        "external_id,address_line1,city,attributes.note",
        'c1,"1 Rua ""Nova"", 2\u00ba",Porto,"line one\r\nline two"',
        "",
        ",,,",
        'c2,"multi\nline\naddress",Faro,',
        "c3,x,y,z,extra",
        'c1,,"Lisboa, PT",',
        " c2 ,,Braga,\u00e7",
        "c4,,Évora,last line without a newline",
    ]
    path = tmp_path / "profiles.csv"
    path.write_bytes("\ufeff".encode() + "\r\n".join(rows).encode())

    def outcome(*args):
        status = run("profiles", path, "--batch-size", "1", *args)
        stored = sorted(Profile.objects.values_list("external_id", "address_line1", "city", "attributes"))
        Profile.objects.all().delete()
        return status, capsys.readouterr(), stored

    one, three = outcome("--jobs", "1"), outcome("--jobs", "3")
    assert one == three
    assert parallel_runs == [3]
    status, captured, stored = three
    assert status == 1
    assert "6 records: 3 created, 2 updated, 1 rejected" in captured.out
    assert "line 9: has 5 cells; the header has 4" in captured.err
    assert stored[0] == ("c1", '1 Rua "Nova", 2º', "Lisboa, PT", {"note": "line one\r\nline two"})
    assert stored[1] == ("c2", "multi\nline\naddress", "Braga", {"note": "ç"})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_jobs_send_every_spelling_of_a_key_to_the_same_worker(tmp_path, capsys, parallel_runs):
    _needs_postgresql()
    ProductFactory(external_id="SKU-1")
    records = []
    for i in range(30):
        key = [7, " 7", "7 "][i % 3] if i % 2 else f"p{i}"  # the number 7 and the text "7" name one key
        records.append({"external_id": key, "name": f"name-{i}", "price": str(i)})
    records.append({"external_id": True, "name": "x"})
    path = tmp_path / "products.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n{broken\n")
    assert run("products", path, "--batch-size", "2", "--jobs", "4") == 1
    captured = capsys.readouterr()
    assert "32 records: 16 created, 14 updated, 2 rejected" in captured.out
    assert "line 31: external_id: must be a string" in captured.err
    assert "line 32: is not valid JSON" in captured.err
    assert parallel_runs == [4]
    assert Product.objects.get(external_id="7").name == "name-29"
    for key in (7, " 7", "7 ", 7.5, "\tx\n", "ç"):  # dealt out by the key the service will read
        assert parallel._partition_key(key) == SPECS["products"].parse({"external_id": key})[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_worker_stops_the_import_with_its_reason(tmp_path, monkeypatch, parallel_runs):
    _needs_postgresql()

    def broken(*, records):
        raise ValueError("the database went away")

    monkeypatch.setitem(files.IMPORTERS, "profiles", broken)  # the forked workers inherit it
    path = tmp_path / "profiles.csv"
    path.write_text("external_id\n" + "".join(f"c{i}\n" for i in range(10)))
    with pytest.raises(parallel.ImportWorkerError, match="the database went away"):
        run("profiles", path, "--jobs", "2")


def test_inside_a_transaction_or_on_sqlite_jobs_run_in_this_process(tmp_path, capsys, parallel_runs):
    path = tmp_path / "profiles.csv"
    path.write_text("external_id,city\nc1,Porto\nc2,Faro\nc1,Lisboa\n")
    assert run("profiles", path, "--jobs", "4") == 0
    assert "3 records: 2 created, 1 updated, 0 rejected" in capsys.readouterr().out
    assert parallel_runs == []
    assert Profile.objects.get(external_id="c1").city == "Lisboa"


def test_jobs_must_be_at_least_one(tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("external_id\nc1\n")
    with pytest.raises(CommandError, match="--jobs"):
        run("profiles", path, "--jobs", "0")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_follows_the_file_to_the_end(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text("external_id,city\n" + "".join(f"c{i},Porto\n" for i in range(2000)))
    call_command("import_data", "profiles", str(path), "--batch-size", "100", stderr=_Terminal())
    bar = capsys.readouterr().err.split("\r")[-1]
    assert "Importing profiles: 100%" in bar
    assert Profile.objects.count() == 2000

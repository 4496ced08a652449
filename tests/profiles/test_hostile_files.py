"""Hostile files through `import_data` and the admin's import page: each bad line is a
line-numbered rejection, the valid lines are kept, the summary is printed, and one process or
several commit the same lines."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError
from django.db import connection

from profiles.ingestion import parallel
from profiles.models import Profile
from tests.profiles.test_import_command import run

pytestmark = pytest.mark.django_db


def hostile_csv() -> bytes:
    big = "z" * 200_000
    lines = [
        b"external_id,first_name,city,birth_date",
        b"ok-1,Ana,Porto,1990-01-01",
        b"nul-1,A\x00na,Porto,",  # line 3: a NUL in a cell
        b'huge-1,"' + big.encode() + b'",Porto,',  # line 4: a cell over the CSV reader's limit
        b"ok-2,Rui,Faro,",
        "latin-1,Jos\u00e9,Lisboa,".encode("latin-1"),  # line 6: not UTF-8 (0xE9 at byte 12)
        b"range-1,Eva,Braga,0000-01-01",  # line 7: a date out of range
        b"ok-3,Lu\xc3\xads,\xc3\x89vora,9999-12-31",  # UTF-8 accents, the last date there is
    ]
    return b"\n".join(lines) + b"\n"


EXPECTED_KEPT = ["ok-1", "ok-2", "ok-3"]


def _check_outcome(status, captured):
    assert status == 1
    assert "7 records: 3 created, 0 updated, 4 rejected" in captured.out
    err = captured.err
    assert "line 3 (nul-1): first_name: contains a NUL character" in err
    assert "line 4: has a cell longer than 131,072 characters" in err
    assert "line 6: column 'first_name' is not UTF-8 text: byte 0xE9 at byte 4 of the cell" in err
    assert "line 7 (range-1): birth_date:" in err
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == EXPECTED_KEPT
    assert Profile.objects.get(external_id="ok-3").city == "\u00c9vora"


def test_a_hostile_csv_rejects_only_its_bad_lines(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_bytes(hostile_csv())
    _check_outcome(run("profiles", path), capsys.readouterr())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_process_and_several_commit_the_same_lines_of_a_hostile_file(tmp_path, capsys, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    calls = []
    real = parallel.import_stream
    monkeypatch.setattr(parallel, "import_stream", lambda **kwargs: calls.append(kwargs["jobs"]) or real(**kwargs))
    csv_path = tmp_path / "profiles.csv"
    csv_path.write_bytes(hostile_csv())
    jsonl_path = tmp_path / "profiles.jsonl"
    jsonl_path.write_bytes(hostile_jsonl())

    def outcome(path, jobs):
        status = run("profiles", path, "--batch-size", "2", "--jobs", str(jobs))
        kept = sorted(Profile.objects.values_list("external_id", "first_name", "attributes"))
        Profile.objects.all().delete()
        return status, capsys.readouterr(), kept

    for path in (csv_path, jsonl_path):
        one, three = outcome(path, 1), outcome(path, 3)
        assert one == three
    assert calls == [3, 3]


def hostile_jsonl() -> bytes:
    lines = [
        json.dumps({"external_id": "ok-1", "first_name": "Ana"}).encode(),
        ("[" * 5000 + "]" * 5000).encode(),  # line 2: nested past any limit
        b'{"external_id": "big-1", "attributes": {"n": ' + b"9" * 5000 + b"}}",  # line 3: 5000 digits
        b'{"external_id": "nul-1", "first_name": "a\\u0000"}',  # line 4
        b'{"external_id": "sur-1", "attributes": {"\\ud800": 1}}',  # line 5
        b'{"external_id": "lat-1", "first_name": "Jos\xe9"}',  # line 6: not UTF-8
        b"",
        json.dumps({"external_id": "ok-2", "attributes": {"deep": {"but": ["fine"]}}}).encode(),
    ]
    return b"\n".join(lines) + b"\n"


def test_a_hostile_json_lines_file_rejects_only_its_bad_lines(tmp_path, capsys):
    path = tmp_path / "profiles.jsonl"
    path.write_bytes(hostile_jsonl())
    assert run("profiles", path) == 1
    captured = capsys.readouterr()
    assert "7 records: 2 created, 0 updated, 5 rejected" in captured.out
    err = captured.err
    assert "line 2: is nested too deeply" in err
    assert "line 3: is not valid JSON" in err
    assert "line 4 (nul-1): first_name: contains a NUL character" in err
    assert "line 5 (sur-1): attributes: key '\\ud800': contains an unpaired UTF-16 surrogate" in err
    assert "line 6: is not UTF-8 text: byte 0xE9 at byte 44" in err
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == ["ok-1", "ok-2"]


def test_a_missing_key_column_is_one_header_error(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text("email,city\n" + "".join(f"c{i}@example.com,Porto\n" for i in range(50)))
    with pytest.raises(CommandError) as raised:
        run("profiles", path)
    assert str(raised.value).startswith("The header has no 'external_id' column")
    assert "Columns found: 'email', 'city'" in str(raised.value)
    assert not Profile.objects.exists()


def test_a_consent_file_without_its_key_columns_is_one_header_error(tmp_path):
    path = tmp_path / "consents.csv"
    path.write_text("profile,channel,status\nc1,email,opted_in\n")
    with pytest.raises(CommandError, match="no 'occurred_at' column"):
        run("consents", path)


def test_blank_lines_before_the_header_are_not_an_empty_file(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text("\n\n,,\n\nexternal_id,city\nc1,Porto\n")
    assert run("profiles", path) == 0
    assert "1 records: 1 created" in capsys.readouterr().out
    assert Profile.objects.get().city == "Porto"


def test_a_header_that_is_not_utf8_is_refused_as_a_whole(tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_bytes(b"external_id,cidade\xe9\nc1,x\n")
    with pytest.raises(CommandError, match="header row .* is not UTF-8 text: byte 0xE9"):
        run("profiles", path)


def test_our_own_export_protection_is_read_back(tmp_path, capsys):
    path = tmp_path / "profiles.csv"
    path.write_text("external_id,phone,first_name\nc1,'+351912345678,'=cmd\n")
    assert run("profiles", path) == 0
    profile = Profile.objects.get()
    assert (profile.phone, profile.first_name) == ("+351912345678", "=cmd")


def test_the_admin_import_rejects_bad_lines_and_keeps_the_valid(admin_as):
    client = admin_as("Data steward")
    upload = SimpleUploadedFile("profiles.csv", hostile_csv(), content_type="text/csv")
    response = client.post("/admin/profiles/profile/import/", {"file": upload, "format": ""}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "7 records: 3 created, 0 updated, 4 rejected" in page
    assert "line 6: column &#x27;first_name&#x27; is not UTF-8 text" in page
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == EXPECTED_KEPT

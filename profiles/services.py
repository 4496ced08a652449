"""Writes to the customer store, one function per use case."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiles import validation
from profiles.erasure import run_erasure_steps
from profiles.ingestion.isolation import write_isolating
from profiles.ingestion.upsert import BulkResult, ids_by_external_id
from profiles.models import (
    Booking,
    Channel,
    Consent,
    ConsentEvent,
    ConsentStatus,
    Profile,
    Purchase,
    PushDevice,
    Subscription,
    Suppression,
)
from profiles.reachability import normalise_postal_address


class ProfileGone(LookupError):
    """The profile (or the row being changed) was erased while the request was under way."""


# -- profiles -------------------------------------------------------------------------------


def profile_save(*, profile: Profile, data: dict[str, Any]) -> Profile:
    """Create (unsaved instance) or update a profile from validated data, with an audit record."""
    for name, value in data.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def profile_erase(*, profile_ids: list[int]) -> int:
    """Erase profiles: their entities, consents, devices and edit history go; registered
    erasure steps (e.g. ledger anonymisation) run first. Suppressions stay: they are kept by
    address precisely so an erased person is never contacted again. Returns the count erased."""
    ids = list(Profile.objects.filter(id__in=profile_ids).values_list("id", flat=True))
    if not ids:
        return 0
    run_erasure_steps(profile_ids=ids)
    Profile.objects.filter(id__in=ids).delete()
    # After the delete: deleting writes a last "deleted" history row holding the old values.
    Profile.history.model.objects.filter(id__in=ids).delete()
    for model in (Booking, Purchase, Subscription):
        model.history.model.objects.filter(profile_id__in=ids).delete()
    return len(ids)


# -- consent --------------------------------------------------------------------------------

CONSENT_FIELDS = ("profile", "channel", "status", "source", "occurred_at")


@dataclass
class ConsentResult(BulkResult):
    """created/updated count consent states; `ignored` counts events older than the state."""

    ignored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "ignored": self.ignored}


def _parse_consent_event(raw: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["each record must be a JSON object"]}
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    parsers = {
        "profile": lambda v: validation.text(v, max_length=128),
        "channel": lambda v: validation.choice(v, choices=tuple(Channel.values)),
        "status": lambda v: validation.choice(v, choices=tuple(ConsentStatus.values)),
        "source": lambda v: validation.text(v, max_length=100),
        "occurred_at": validation.datetime,
    }
    for name in raw:
        if name not in parsers:
            errors[name] = ["unknown field for a consent event"]
    for name, parse in parsers.items():
        if name not in raw or raw[name] in (None, ""):
            if name != "source":
                errors[name] = ["is required"]
            continue
        try:
            values[name] = parse(raw[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    values.setdefault("source", "")
    return values, errors


def consent_events_record(*, records: list[Any]) -> ConsentResult:
    """Append consent events to the history and move each (profile, channel) state forward.

    An event older than the current state is kept in the history but does not change the state;
    on equal timestamps the later arrival wins. The state update is one conditional upsert
    (`ON CONFLICT ... DO UPDATE ... WHERE state.occurred_at <= new.occurred_at`), so concurrent
    batches cannot move a state backwards.
    """
    result = ConsentResult()
    parsed = []
    for index, raw in enumerate(records):
        values, errors = _parse_consent_event(raw)
        if errors:
            result.errors.append({"index": index, "external_id": values.get("profile"), "errors": errors})
        else:
            parsed.append((index, values))
    profile_ids = ids_by_external_id(Profile, {values["profile"] for _, values in parsed})
    external_ids = {pk: key for key, pk in profile_ids.items()}
    events: list[tuple[int, ConsentEvent]] = []
    for index, values in parsed:
        if values["profile"] not in profile_ids:
            result.errors.append(
                {
                    "index": index,
                    "external_id": values["profile"],
                    "errors": {"profile": [f"unknown profile {values['profile']!r}"]},
                }
            )
            continue
        events.append((index, ConsentEvent(profile_id=profile_ids[values.pop("profile")], **values)))
    result.errors.sort(key=lambda error: error["index"])
    if not events:
        return result

    # Events are written by (profile, channel) pair: if the database refuses one, the others stand.
    by_pair: dict[tuple[int, str], list[tuple[int, ConsentEvent]]] = {}
    for index, event in events:
        by_pair.setdefault((event.profile_id, event.channel), []).append((index, event))
    written, refused = write_isolating(list(by_pair), lambda pairs: _write_consent_events(pairs, by_pair))
    for created, updated, ignored in written:
        result.created += created
        result.updated += updated
        result.ignored += ignored
    for pair, message in refused:
        result.errors.extend(
            {"index": index, "external_id": external_ids[pair[0]], "errors": {"non_field_errors": [message]}}
            for index, _ in by_pair[pair]
        )
    result.errors.sort(key=lambda error: error["index"])
    return result


def _write_consent_events(
    pairs: list[tuple[int, str]], by_pair: dict[tuple[int, str], list[tuple[int, ConsentEvent]]]
) -> tuple[int, int, int]:
    """Append the events of these pairs to the history and move each pair's state to its newest
    event (later arrival wins ties). Returns (states created, states moved, events older)."""
    events = [event for pair in pairs for _, event in by_pair[pair]]
    newest: dict[tuple[int, str], ConsentEvent] = {}
    for event in events:
        pair = (event.profile_id, event.channel)
        if pair not in newest or event.occurred_at >= newest[pair].occurred_at:
            newest[pair] = event
    created = updated = 0
    with transaction.atomic():
        ConsentEvent.objects.bulk_create(events, batch_size=1000)
        current = _current_consent_times(list(newest))
        for pair, event in newest.items():
            if pair not in current:
                created += 1
            elif current[pair] <= event.occurred_at:
                updated += 1
        _upsert_consent_states(list(newest.values()))
    return created, updated, len(events) - created - updated


def _current_consent_times(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], Any]:
    found = {}
    ids = {profile_id for profile_id, _ in pairs}
    rows = Consent.objects.filter(profile_id__in=ids).values_list("profile_id", "channel", "occurred_at")
    for profile_id, channel, occurred_at in rows.iterator(chunk_size=5000):
        found[(profile_id, channel)] = occurred_at
    return {pair: found[pair] for pair in pairs if pair in found}


def _upsert_consent_states(events: list[ConsentEvent]) -> None:
    table = connection.ops.quote_name(Consent._meta.db_table)
    columns = ("profile_id", "channel", "status", "source", "occurred_at", "updated_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
    now = timezone.now()
    for start in range(0, len(events), 500):
        chunk = events[start : start + 500]
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for event in chunk:
            params += [event.profile_id, event.channel, event.status, event.source, event.occurred_at, now]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
            f"ON CONFLICT (profile_id, channel) DO UPDATE SET {updates} "
            f"WHERE {table}.occurred_at <= excluded.occurred_at"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, _adapt(params))


def _adapt(params: list[Any]) -> list[Any]:
    """Datetimes through the backend's own adapter (SQLite stores them as UTC text)."""
    return [connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p for p in params]


# -- suppressions ---------------------------------------------------------------------------


def suppression_normalise_address(*, channel: str, address: str) -> str:
    """The canonical form addresses are matched in: email lower-case, phone E.164, direct mail
    the postal address key (profiles/reachability.py), push the token as given."""
    if channel == Channel.EMAIL:
        value = validation.email(address)
    elif channel == Channel.SMS:
        value = validation.phone(address)
    elif channel == Channel.DIRECT_MAIL:
        value = normalise_postal_address(validation.text(address, max_length=254))
    else:
        value = validation.text(address, max_length=254)
    if not value:
        raise ValueError("is required")
    return value


def suppression_add(*, channel: str, address: str, reason: str, note: str = "") -> tuple[Suppression, bool]:
    """Suppress an address on a channel (idempotent: an existing entry keeps its first reason)."""
    address = suppression_normalise_address(channel=channel, address=address)
    return Suppression.objects.get_or_create(
        channel=channel, address=address, defaults={"reason": reason, "note": note}
    )


# -- push devices ---------------------------------------------------------------------------


def push_device_save(*, device: PushDevice, data: dict[str, Any]) -> PushDevice:
    """Create (unsaved instance) or update a push device. The profile's row is locked for the
    write, so an erasure running at the same time either happens first (ProfileGone: the profile
    or the device no longer exists) or waits until this write is done, and then erases it too."""
    for name, value in data.items():
        setattr(device, name, value)
    try:
        with transaction.atomic():
            if not Profile.objects.select_for_update().filter(pk=device.profile_id).exists():
                raise ProfileGone("The profile no longer exists (erased).")
            if device.pk is not None and not PushDevice.objects.filter(pk=device.pk).exists():
                raise ProfileGone("The device no longer exists (its profile was erased).")
            device.save()
    except IntegrityError:
        if PushDevice.objects.filter(token=device.token).exclude(pk=device.pk).exists():
            raise ValueError("another device has this token") from None
        raise ProfileGone("The profile no longer exists (erased).") from None
    return device

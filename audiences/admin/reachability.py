"""The audience page's "Reachable" panel: per channel, how many of the latest snapshot's profiles
can be contacted and why the others cannot (audiences.services.snapshot_reachability). Computed
when the page loads (one statement per channel, each under AUDIENCE_PREVIEW_TIMEOUT_MS) for
snapshots of up to AUTOMATIC_UP_TO members; for bigger ones (measured on PostgreSQL: about 1 s per
channel per 500,000 profiles) the panel offers a link that asks for it."""

from typing import Any

from audiences import dimensions as dims
from audiences.models import AudienceSnapshot
from audiences.services import RuleTimeout, snapshot_reachability
from profiles.models import Channel
from profiles.reachability import NOT_OPTED_OUT, REASONS, consent_policy

AUTOMATIC_UP_TO = 200_000  # members
POLICY_LABELS = {NOT_OPTED_OUT: "no opt-out", "opted_in": "an opt-in"}
CHANNEL_LABELS = {Channel.EMAIL: "Email", Channel.SMS: "SMS", Channel.PUSH: "Push", Channel.DIRECT_MAIL: "Direct mail"}
ADDRESS_LABELS = {
    Channel.EMAIL: "an email address",
    Channel.SMS: "a phone number",
    Channel.PUSH: "an active push device",
    Channel.DIRECT_MAIL: "a complete postal address",
}


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def _row(channel: str, counts: dict[str, Any], policy: str) -> dict[str, Any]:
    unreachable = counts["unreachable"]
    total = counts["reachable"] + sum(unreachable.values())
    return {
        "channel": CHANNEL_LABELS[channel],
        "key": channel,
        "needs": f"{ADDRESS_LABELS[channel]} and {POLICY_LABELS[policy]}",
        "reachable": f"{counts['reachable']:,}",
        "share": _share(counts["reachable"], total),
        "share_width": round(100 * counts["reachable"] / total) if total else 0,
        "reasons": [f"{unreachable[reason]:,}" for reason in REASONS],
    }


def reachability_context(snapshot: AudienceSnapshot, *, asked: bool = False) -> dict[str, Any]:
    """{"reachability": {"profiles": n, "rows": [...]}}, {"reachability_error": message} or, for a
    big snapshot not `asked` for, {"reachability_offer": members}; nothing for a dimension whose
    rows have no profiles."""
    if snapshot.population is None or dims.get(snapshot.population.dimension).profile_id_path is None:
        return {}
    if not asked and snapshot.population.size > AUTOMATIC_UP_TO:
        return {"reachability_offer": f"{snapshot.population.size:,}"}
    try:
        counts = snapshot_reachability(snapshot=snapshot)
    except RuleTimeout as exc:
        return {"reachability_error": str(exc)}
    if counts is None:
        return {}
    policy = consent_policy()
    email = counts[Channel.EMAIL]
    profiles = email["reachable"] + sum(email["unreachable"].values())
    return {
        "reachability": {
            "profiles": f"{profiles:,}",
            "plural": profiles != 1,
            "rows": [_row(channel, channel_counts, policy[channel]) for channel, channel_counts in counts.items()],
        }
    }

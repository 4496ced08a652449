"""Audience use cases (writes and the reads the interfaces need), one function per use case."""

from audiences.services.evaluation import (
    audience_evaluate,
    audience_request_evaluation,
    audience_save_population,
    audience_upload_list,
    snapshot_run,
    snapshots_prune,
)
from audiences.services.lifecycle import AudienceGone, audience_delete, audience_save, audience_validate
from audiences.services.reachability import NoProfiles, queryset_reachability, snapshot_reachability
from audiences.services.reading import (
    SAMPLE_SIZE,
    audience_preview,
    distribution,
    snapshot_distribution,
    snapshot_sample,
)
from audiences.services.references import (
    AudienceError,
    AudienceInUse,
    AudienceNotEvaluated,
    RuleTimeout,
    audience_usages,
    register_audience_usage,
    rule_validate,
)

__all__ = [
    "SAMPLE_SIZE",
    "AudienceError",
    "AudienceGone",
    "AudienceInUse",
    "AudienceNotEvaluated",
    "NoProfiles",
    "RuleTimeout",
    "audience_delete",
    "audience_evaluate",
    "audience_preview",
    "audience_request_evaluation",
    "audience_save",
    "audience_save_population",
    "audience_upload_list",
    "audience_usages",
    "audience_validate",
    "distribution",
    "queryset_reachability",
    "register_audience_usage",
    "rule_validate",
    "snapshot_distribution",
    "snapshot_reachability",
    "snapshot_run",
    "snapshot_sample",
    "snapshots_prune",
]

"""Right to be forgotten: the hook other apps use to take part in a profile's erasure.

An app that keeps personal data about a profile outside this app (the send ledger in `channels`
anonymises its rows) registers a step from its AppConfig.ready():

    from profiles.erasure import register_erasure_step
    register_erasure_step(anonymise_messages)   # called as step(profile_ids=[...])

Steps run inside the erasure's transaction, before the profile rows are deleted, so a step that
fails rolls the whole erasure back.
"""

from collections.abc import Callable, Iterable

ErasureStep = Callable[..., None]
_steps: list[ErasureStep] = []


def register_erasure_step(step: ErasureStep) -> ErasureStep:
    if step not in _steps:
        _steps.append(step)
    return step


def run_erasure_steps(*, profile_ids: Iterable[int]) -> None:
    ids = list(profile_ids)
    for step in _steps:
        step(profile_ids=ids)

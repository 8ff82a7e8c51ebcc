"""What happens when Stack AI's work falls due on the engine's schedule (the engine decides when)."""

from __future__ import annotations

from functools import partial

from ._state import StackAiState

__all__ = ["attach_handlers"]


def attach_handlers(state: StackAiState) -> None:
    """Register the handler of every kind of due work on the state's timeline (a new or restored state)."""
    from . import _oauth, knowledge_bases  # imported here: they build on the state and seeding modules

    timeline = state.clock.timeline
    timeline.handle(_oauth.CODE_EXPIRY, partial(_oauth.expire_code, state))
    timeline.handle(_oauth.CONSENT_EXPIRY, partial(_oauth.expire_consent, state))
    timeline.handle(knowledge_bases.INDEX_DONE, partial(knowledge_bases.index_done, state))

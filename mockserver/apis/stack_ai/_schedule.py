"""What happens when Stack AI's work falls due on the engine's schedule (the engine decides when)."""

from __future__ import annotations

import logging
from functools import partial

from ..._clock import ScheduleFull
from ._state import StackAiState

__all__ = ["attach_handlers", "schedule"]

logger = logging.getLogger("mockserver")


def schedule(state: StackAiState, due: int, kind: str, key: str) -> bool:
    """Put work on the state's schedule; False when the schedule is full. Nothing depends on it alone: an
    OAuth code's expiry is also checked when it is used, and a knowledge base settles its due jobs when read."""
    try:
        state.clock.timeline.schedule(due, kind, key)
    except ScheduleFull as exc:
        logger.warning("stack-ai: %s; %s %s is left to its fallback", exc, kind, key)
        return False
    return True


def attach_handlers(state: StackAiState) -> None:
    """Register the handler of every kind of due work on the state's timeline (a new or restored state)."""
    from . import _oauth, knowledge_bases  # imported here: they build on the state and seeding modules

    timeline = state.clock.timeline
    timeline.handle(_oauth.CODE_EXPIRY, partial(_oauth.expire_code, state))
    timeline.handle(_oauth.CONSENT_EXPIRY, partial(_oauth.expire_consent, state))
    timeline.handle(knowledge_bases.INDEX_DONE, partial(knowledge_bases.index_done, state))

"""What the actions of one action-server process share: the knowledge search, the rating store and the dispatch
classifier.

rasa_sdk creates the Action classes itself, without arguments, so the actions read these objects here. The action
server installs them once, before it serves (`govbot.action_server.warm_up`); tests install their own. Importing
this module loads nothing: no model, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:  # the search module loads FAISS and the lexical index: only its type is needed here
    from core.ratings import RatingStore
    from knowledge.search import KnowledgeSearch
    from workorders.classifier import DispatchClassifier


class NotStarted(RuntimeError):
    """An action ran before the action server installed the runtime."""


@dataclass
class ActionRuntime:
    """The process's shared objects: the knowledge search (loaded before serving), the rating store (opened by
    `open_ratings` at the first rating, as before: a database that is down affects only ratings) and the dispatch
    classifier for reports (built before serving on the search's encoder; None when it could not be built: a
    dispatcher then decides)."""

    knowledge: KnowledgeSearch
    open_ratings: Callable[[], RatingStore]
    dispatch: Optional[DispatchClassifier] = None
    _ratings: Optional[RatingStore] = field(default=None, init=False, repr=False)

    def ratings(self) -> RatingStore:
        """The rating store, opened once."""
        if self._ratings is None:
            self._ratings = self.open_ratings()
        return self._ratings


_installed: Optional[ActionRuntime] = None


def install(runtime: Optional[ActionRuntime]) -> None:
    """Make `runtime` the one the actions use (None: none, as before the server starts)."""
    global _installed
    _installed = runtime


def current() -> ActionRuntime:
    """The installed runtime (NotStarted when there is none)."""
    if _installed is None:
        raise NotStarted("the actions' runtime is not installed; govbot.action_server installs it before serving")
    return _installed


def knowledge() -> KnowledgeSearch:
    """The knowledge search of this process."""
    return current().knowledge


def ratings() -> RatingStore:
    """The rating store of this process (opened at the first rating)."""
    return current().ratings()


def dispatch_classifier() -> Optional[DispatchClassifier]:
    """The dispatch classifier of this process (None when it could not be built, or before the server starts)."""
    return _installed.dispatch if _installed is not None else None

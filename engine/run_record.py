"""A run's record of what happened to it: every change with the step boundary it was carried out at,
and the events a window marks (those changes, and lanes that diverged).

The changes are what a replay makes again, so they must be exactly those that made the run; the
events are what the user reads. Settings of one field made one after another at one boundary are
one change (see :func:`~muonscope.engine.changes.fold_changes`), as long as no checkpoint holds the
first: a replay from that checkpoint would not see the fold.
"""

from __future__ import annotations

from muonscope.engine.changes import Applied, Change, fold_changes
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.snapshot import Event

__all__ = ["RunRecord"]


class RunRecord:
    """The changes and events of one run, newest last."""

    def __init__(self, changes: tuple[tuple[int, Change], ...] = (), events: tuple[Event, ...] = ()) -> None:
        self._changes = list(changes)
        self._events = list(events)
        # the config before the change last recorded, while a change at its boundary may fold into it
        self._fold_base: ExperimentConfig | None = None

    @property
    def changes(self) -> tuple[tuple[int, Change], ...]:
        return tuple(self._changes)

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def held(self) -> tuple[tuple[tuple[int, Change], ...], tuple[Event, ...]]:
        """(changes, events) for a checkpoint: the changes in it stay as recorded, so the change last
        made can no longer be folded into."""
        self._fold_base = None
        return self.changes, self.events

    def folded(self, step: int, change: Change) -> Applied | None:
        """``change``, made at ``step``, and the change last recorded there as one (from the config
        before that one); None where they do not fold."""
        if self._fold_base is None or not self._changes or self._changes[-1][0] != step:
            return None
        return fold_changes(self._fold_base, self._changes[-1][1], change)

    def fold(self, step: int, change: Change, folded: Applied) -> None:
        """Put ``folded`` (from :meth:`folded`) on record in place of the change last recorded; a
        field set back to where it was leaves no change at all."""
        base = self._fold_base
        self._changes.pop()
        self._events.pop()
        if folded.config != base:
            self.record(step, change, folded, base)
        else:  # the change before is last now, and what it was made on is not kept
            self._fold_base = None

    def record(self, step: int, change: Change, applied: Applied, before: ExperimentConfig) -> None:
        """A change carried out at ``step`` on ``before``, with its event; the next may fold into it."""
        self._changes.append((step, change))
        self._events.append(Event(step, applied.field, applied.old, applied.new, applied.text))
        self._fold_base = before

    def note(self, event: Event) -> None:
        """An event that is no change (a lane diverged): the last event is no longer the last change's."""
        self._fold_base = None
        self._events.append(event)

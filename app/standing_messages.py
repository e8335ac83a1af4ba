"""The engine's notes and alerts in the window, each shown only while what it says is true.

Every such message is about the run and the branch it was made on ("lane 1: SGD → SignGD, lr 128 →
0.01", "Forked …", "Not applied: …"): once that run is replaced — a reset, another preset, a session
opened — or another branch is put on show, it describes nothing on screen and is withdrawn, as it is
when the run goes back to a step before the one it was said at (a switch made at step 35 is not yet
made at step 25). Until then most stay until dismissed or replaced.
Some describe where the run stands — "Reached the run's 300 steps and paused", a breakpoint that
holds, a diverged lane, a failed step, a jump in progress — and stop being true the moment the run
moves on: it plays, takes a step or jumps to another step. Those are withdrawn then. Both kinds go
when a lane before the last is removed after them: they number the lanes as they stood ("lane 0: SGD
→ SignGD" stayed once lane 0 was gone and Adam had become lane 0).
A refusal ("Not applied: lanes[2].momentum = 1.5 …") holds until a later change is carried out:
left on show, it read as if that change had failed too. One made before the run showed its first
step (nothing to check a change against yet) goes when it does.
"""

from __future__ import annotations

from PySide6 import QtCore

from muonscope.engine.snapshot import Snapshot

__all__ = ["StandingMessages"]


class StandingMessages(QtCore.QObject):
    """Routes the engine link's notes and alerts to the window and withdraws the standing ones.

    ``window`` shows messages (``show_note``/``show_alert`` return a number) and withdraws them
    (``withdraw_message(number)``).
    """

    def __init__(self, window, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._position: tuple[int, int] | None = None  # (run id, step) of the newest snapshot
        self._lane_ids: tuple[int, ...] = ()  # the newest snapshot's lanes, by number
        self._drawn_since_said = False  # whether a snapshot came after the last message about the run
        self._standing: tuple[int, tuple[int, int] | None] | None = None  # (number, where it was shown)
        # (number, run id, branch id, step) of the last message about a run and where it was said: the
        # branch is None when not yet known
        self._about_run: tuple[int, int, int | None, int] | None = None
        self._branch: int | None = None  # the id of the branch on show
        self._refusal: int | None = None  # the number of a "Not applied" message on show

    @property
    def standing(self) -> bool:
        """Whether a message that holds only while the run stays where it is may be on show."""
        return self._standing is not None

    @QtCore.Slot(str, bool)
    def on_note(self, text: str, until_moved: bool) -> None:
        self._hold(self._window.show_note(text), until_moved)

    @QtCore.Slot(str, bool)
    def on_alert(self, text: str, until_moved: bool) -> None:
        self._hold(self._window.show_alert(text), until_moved)

    def hold_until_replaced(self, number: int) -> None:
        """Message ``number``, shown elsewhere, is about the run on show: withdrawn once it is replaced."""
        self._hold(number, until_moved=False)

    def hold_refusal(self, number: int) -> None:
        """Message ``number`` says a change was not carried out: it goes once the run is replaced or
        a later change is carried out (:meth:`on_change_carried_out`)."""
        self.hold_until_replaced(number)
        self._refusal = number

    def on_change_carried_out(self) -> None:
        """A change passed its checks and went to the engine (or was staged for a restart): an
        earlier refusal no longer stands."""
        if self._refusal is not None:
            self._window.withdraw_message(self._refusal)
            self._refusal = None

    @QtCore.Slot(object)
    def on_snapshot(self, snapshot: Snapshot) -> None:
        """A step, a restart or a jump moves the run; a change at the same step does not.

        A restart (a reset, another preset, an opened session) replaces the run: every message about
        the one before goes.
        """
        if self._position is None:  # a change refused for want of a run can be made now
            self.on_change_carried_out()
        self._position = (snapshot.run_id, snapshot.step)
        lane_ids = tuple(lane.lane_id for lane in snapshot.lanes)
        renumbered = lane_ids[: len(self._lane_ids)] != self._lane_ids[: len(lane_ids)]
        self._lane_ids = lane_ids
        about = self._about_run
        # a message said before the run drew again is about the change that renumbers, if any (the
        # note of a fork made by removing a lane at an earlier step): it numbers the lanes as they are
        stale = renumbered and self._drawn_since_said
        if about is not None and (about[1] != snapshot.run_id or snapshot.step < about[3] or stale):
            self._window.withdraw_message(about[0])
            self._about_run = None
        self._drawn_since_said = True
        if self._standing is not None and (self._standing[1] != self._position or renumbered):
            self._withdraw()

    @QtCore.Slot(object)
    def on_branches_changed(self, message) -> None:
        """Another branch on show (a switch, a fork): the messages about the one before go."""
        self._branch = next((b.id for b in message.branches if b.current), None)
        about = self._about_run
        if about is not None and about[2] is not None and about[2] != self._branch:
            self._window.withdraw_message(about[0])
            self._about_run = None

    @QtCore.Slot(bool)
    def on_playing_changed(self, playing: bool) -> None:
        if playing:
            self._withdraw()

    def _hold(self, number: int, until_moved: bool) -> None:
        self._standing = (number, self._position) if until_moved else None
        # before the first snapshot there is no run it could be about (a run that failed to start)
        position = self._position
        self._about_run = None if position is None else (number, position[0], self._branch, position[1])
        self._drawn_since_said = False

    def _withdraw(self) -> None:
        if self._standing is not None:
            self._window.withdraw_message(self._standing[0])
            self._standing = None

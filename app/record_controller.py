"""The window's ● record button: from start until stop, one frame of the window per engine step.

Starting asks for a file (.mp4 or .gif) through ``chooser`` (a dialog; tests hand in their own),
then paces the engine: no step is taken before the window has drawn the one before, so the file
gets every step exactly once, however much faster the engine is than the screen. The status bar
says "● recording · N frames → PATH" meanwhile. Stopping (the button again, Ctrl+Shift+R)
finishes the file on a background thread and then says where it went; closing the window stops
the recording without waiting, and the application waits for the file once the window is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from muonscope.app.background import Job
from muonscope.app.engine_protocol import FrameShown, Pace
from muonscope.app.frame_grab import grab_frame, rgb_bytes
from muonscope.app.output_paths import check_writable
from muonscope.app.video import VideoWriter, check_video_path, frames_text
from muonscope.engine.errors import ConfigError

__all__ = ["RECORD_FPS", "RecordController", "choose_video_path"]

#: Frames per second of a recording made in the window.
RECORD_FPS = 30.0
#: How long a closing window waits for a stopped recording's file (a long GIF's palette pass takes a while).
FINISH_DEADLINE_MS = 120_000
_WHAT = "recording file"


def choose_video_path(parent: QtWidgets.QWidget) -> Path | None:
    """Ask where to record (None when cancelled); a name without a suffix becomes an MP4."""
    text, _ = QtWidgets.QFileDialog.getSaveFileName(
        parent, "Record to", str(Path.home() / "muonscope.mp4"), "Video (*.mp4 *.gif)"
    )
    if not text:
        return None
    path = Path(text)
    return path if path.suffix else path.with_suffix(".mp4")


class RecordController(QtCore.QObject):
    """Wires the toolbar's record toggle to a video file fed by the frame clock.

    ``chooser(window)`` returns the file to record to, or None to cancel.
    """

    finished = QtCore.Signal()  # a stopped recording's file is finished (or failed), and the window said so

    def __init__(
        self,
        window,
        link,
        clock,
        chooser: Callable[[QtWidgets.QWidget], Path | None] = choose_video_path,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.chooser = chooser
        self._window = window
        self._transport = window.views.transport
        self._link = link
        self._clock = clock
        self._writer: VideoWriter | None = None
        self._size = (0, 0)
        self._last_step: int | None = None  # None until the engine is paced: nothing is written yet
        self._paced_from: int | None = None
        self._finishing: dict[Job, Path] = {}  # files being finished, on their own threads
        self._unsaid: list[str] = []  # what finished files' jobs said that the window has not shown
        self._stop_when_drawn = False
        self._outcome_message: int | None = None  # the last "Recorded …" or "Not recording" message
        self._transport.record_toggled.connect(self._on_toggled)
        link.paced.connect(self._on_paced)
        # Queued: the frame is grabbed once everything else that follows a drawn frame (the live
        # caption, the inspector) has caught up with it.
        clock.frame_drawn.connect(self._on_frame, QtCore.Qt.ConnectionType.QueuedConnection)
        window.closing.connect(self._on_closing)

    @property
    def recording(self) -> bool:
        return self._writer is not None

    @property
    def frames(self) -> int:
        """Frames written to the file being recorded (0 when none is)."""
        return 0 if self._writer is None else self._writer.frames

    @property
    def started_after_step(self) -> int | None:
        """The step the engine stood on when its pacing began: the frames are of the steps after it
        (None until the engine confirms it; kept after a recording ends)."""
        return self._paced_from

    @property
    def path(self) -> Path | None:
        """The file being recorded, or None."""
        return None if self._writer is None else self._writer.path

    @QtCore.Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        if not on:
            self.stop()
            return
        path = self.chooser(self._window)
        if path is None or not self.start(path):
            self._transport.set_recording(False)

    def start(self, path: Path) -> bool:
        """Record to ``path`` from the next step on; False (and a message) when it cannot be written."""
        if self.recording:  # pressed again before a stop took effect: the recording goes on
            self._stop_when_drawn = False
            self._transport.set_recording(True)
            return True
        try:
            check_video_path(path, _WHAT)
            check_writable(path.parent, _WHAT, given=path)
            ratio = self._window.devicePixelRatioF()  # a grab has the screen's pixels, not the logical ones
            self._size = (round(self._window.width() * ratio), round(self._window.height() * ratio))
            self._writer = VideoWriter(path, self._size, RECORD_FPS)
        except (ConfigError, OSError) as exc:
            self._outcome_message = self._window.show_alert(f"Not recording: {exc}")
            return False
        self._last_step = self._paced_from = None
        self._stop_when_drawn = False
        # the last recording's outcome, or a file refused just before, is not about this recording
        if self._outcome_message is not None:
            self._window.withdraw_message(self._outcome_message)
            self._outcome_message = None
        self._link.submit(Pace(True))
        self._transport.set_recording(True)
        self._window.show_rates(False)  # paced by the frames written, and the machine's, not the run's
        self._show_progress()
        key = self._transport.record_action.shortcut().toString()
        self._say_on_stage(f"● recording to {path.name} · {key} stops")
        return True

    def _say_on_stage(self, text: str) -> None:
        """On the stage, whose status bar is hidden, a passing note says what the record key did: it
        started and stopped recordings with no sign of either. Recorded frames leave the note out."""
        if self._window.statusBar().isHidden():
            self._window.views.passing_note.say(text)

    @QtCore.Slot()
    def stop(self) -> None:
        """Stop recording (the engine runs free again); the file is finished in the background.

        A step the engine took before the stop but the window has not drawn yet still gets its
        frame: the recording ends once that frame is written. Finishing takes seconds (the
        encoder's last frames; a GIF's palette pass), so the window stays live meanwhile and says
        where the file went once it is there (:attr:`finished`).
        """
        if self._writer is None:
            return
        self._transport.set_recording(False)
        self._say_on_stage(f"recording stopped · finishing {self._writer.path.name}")
        newest = self._clock.newest
        if self._last_step is not None and newest is not None and newest.step != self._last_step:
            self._stop_when_drawn = True  # the paced engine waits on that frame: it comes next
            return
        self._end()

    def _end(self) -> None:
        writer, self._writer = self._writer, None
        self._stop_when_drawn = False
        if writer is None:
            return
        self._link.submit(Pace(False))
        self._transport.set_recording(False)
        self._window.show_rates(True)
        self._window.set_recording(f"finishing {writer.path}…")
        job = Job(_finish_body(writer, self._unsaid), name="muonscope-recording", parent=self)
        job.returned.connect(lambda outcome: self._on_done(*outcome))
        job.failed.connect(lambda text: self._on_done("error", f"The recording was not written: {text}"))
        job.finished.connect(lambda: self._forget(job))
        self._finishing[job] = writer.path
        job.start()

    def wait_finished(self, deadline_ms: int = FINISH_DEADLINE_MS) -> bool:
        """Wait until every stopped recording's file is finished (the window has closed), at most
        ``deadline_ms``; False if one was still being written then (it goes on until the process ends)."""
        self._finishing = {job: path for job, path in self._finishing.items() if not job.stop(deadline_ms)}
        return not self._finishing

    @property
    def finishing(self) -> bool:
        """Whether a stopped recording's file is still being finished."""
        return any(job.running for job in self._finishing)

    def finish_after_close(self, say: Callable[[str], None], deadline_ms: int = FINISH_DEADLINE_MS) -> bool:
        """Once the window is gone, wait for the files still being finished, saying which, then say
        what became of each (where the window would have: a close said only a log line, naming no
        file). False if one was still being written at the deadline."""
        if self.finishing:
            say(f"finishing the recording {self._finishing_paths()} before exiting…")
        finished = self.wait_finished(deadline_ms)
        for line in self._unsaid:
            say(line[:1].lower() + line[1:])
        self._unsaid.clear()
        return finished

    def _finishing_paths(self) -> str:
        return ", ".join(str(path) for job, path in self._finishing.items() if job.running)

    @QtCore.Slot()
    def _on_closing(self) -> None:
        """No more frames will be drawn: stop, and finish the file in the background (encoding can
        take many seconds; the window closes meanwhile and the process waits for the file)."""
        self._end()

    def _forget(self, job: Job) -> None:
        self._finishing.pop(job, None)

    def _on_done(self, level: str, message: str) -> None:
        if message in self._unsaid:
            self._unsaid.remove(message)
        if not self.recording:
            self._window.set_recording(None)
        if level == "error":
            self._outcome_message = self._window.show_alert(message)
        else:
            self._outcome_message = self._window.show_note(message)
        self.finished.emit()

    @QtCore.Slot(bool, int)
    def _on_paced(self, on: bool, step: int) -> None:
        """From here every step gets drawn: frames start with the next one."""
        if on and self.recording and self._last_step is None:
            self._last_step = self._paced_from = step
            self._link.submit(FrameShown(step))

    @QtCore.Slot(int)
    def _on_frame(self, shown_step: int) -> None:
        """A frame drawn: written if it is a new engine step's; the paced engine may then go on.

        A frame of an earlier step drawn while the run is followed (a theme or scale switched redraws
        the step on show) is not the newest step's, even when that step's snapshot came in before
        this was called: written for it, the file got the old step twice and never the new one.
        That step's own frame comes next.
        """
        newest = self._clock.newest
        if self._writer is None or self._last_step is None or newest is None:
            return
        if self._clock.cursor_step is None and shown_step != newest.step:
            return
        if newest.step != self._last_step:
            self._show_progress(self.frames + 1)  # the frame grabbed counts itself: it read one behind
            try:
                passing_note = self._window.views.passing_note  # says to the speaker what a key did
                self._writer.add(rgb_bytes(grab_frame(self._window, self._size, left_out=(passing_note,))))
            except OSError as exc:
                self._window.show_alert(f"Recording stopped: {exc}")
                self._end()
                return
            self._last_step = newest.step
        if self._stop_when_drawn:
            self._end()
            return
        self._link.submit(FrameShown(newest.step))

    def _show_progress(self, frames: int | None = None) -> None:
        """The status line's "● recording · N frames → PATH" (N: the frames written, or ``frames``)."""
        count = self.frames if frames is None else frames
        self._window.set_recording(f"● recording · {frames_text(count)} → {self.path}")


def _finish_body(writer: VideoWriter, unsaid: list[str]) -> Callable[..., Iterator[None]]:
    """A job that closes the file and returns (level, message) for the window; the message waits in
    ``unsaid`` until the window has shown it."""

    def body(_control) -> Iterator[None]:
        yield from ()  # one piece of work, nothing to hand over before it ends
        level, message = _finish(writer)
        unsaid.append(message)
        return level, message

    return body


def _finish(writer: VideoWriter) -> tuple[str, str]:
    try:
        writer.close()
    except OSError as exc:
        if writer.frames == 0:
            return "info", "Recording stopped before any step was taken: nothing written."
        return "error", f"The recording could not be finished: {exc}"
    played = f"{writer.seconds:.1f} s at {writer.fps:g} fps"
    return "info", f"Recorded {frames_text(writer.frames)} ({played}) to {writer.path}"

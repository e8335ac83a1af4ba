"""The capacity panel's sweeps and one-step rays, computed in the background from the live settings.

Both are :class:`muonscope.app.background.Job` bodies: a sweep yields each point as it finishes
(the curves grow while it runs), a ray search yields each lane's ray. Cancel stops a sweep's worker
processes at once, and a ray search at its next evaluation along the ray (a Muon lane's one SVD
cannot be interrupted; stopping waits for it only until its deadline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from PySide6 import QtCore

from muonscope.app.background import Job, JobControl
from muonscope.app.sweep_axes import SWEEP_PLOTS
from muonscope.engine.balance import Ray, first_step_ray
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import Cancelled, ConfigError
from muonscope.engine.sweep import PointResult, SweepPoint, SweepRunner
from muonscope.engine.sweep_plans import SEEDS, check_points_memory, curves, fitted_slopes, guides, plan
from muonscope.engine.sweep_workers import local_workers, usable_cores
from muonscope.engine.task_kinds import view_problem
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.thread_count import ENGINE_NICE
from muonscope.widgets.number_text import number_text

__all__ = ["STOP_DEADLINE_MS", "SWEEP_NICE", "CapacityController", "ray_body", "sweep_body"]

#: How much lower the OS priority of the window's sweep workers is than the window's own: the live
#: run keeps its steps per second while a sweep fills the capacity panel with what is left. Ten below
#: the engine's thread: the engine then gets nine tenths of a core a worker shares with it.
SWEEP_NICE = ENGINE_NICE + 10
#: How long replacing or stopping a running computation waits for it before leaving it to end alone.
STOP_DEADLINE_MS = 1000


def sweep_body(
    points: list[SweepPoint], workers: int = 0, nice: int = SWEEP_NICE
) -> Callable[[JobControl], Iterator[PointResult]]:
    """A job that runs a sweep (cached points first) and yields each point's result."""

    def body(control: JobControl) -> Iterator[PointResult]:
        runner = SweepRunner(points, workers=workers, nice=nice)
        control.on_cancel(runner.cancel)
        yield from runner

    return body


def ray_body(config: ExperimentConfig) -> Callable[[JobControl], Iterator[tuple]]:
    """A job that yields (lane, label, Δ along the ray, loss, note) for each lane's first-step ray."""

    def body(control: JobControl) -> Iterator[tuple]:
        task = MemoryTask(config.task, torch.device("cpu"), torch.float64)  # small N: float64 on the CPU
        for index, lane in enumerate(config.lanes):
            try:
                ray = first_step_ray(task, lane, cancelled=lambda: control.cancelled)
            except Cancelled:
                return
            label = lane.display_label()
            at = "" if ray.lower_further is None else " at η*"  # judged there; lower further on
            yield (
                index,
                f"{label}: ϱ = {number_text(ray.rho)}{at}",
                ray.gap,
                ray.loss,
                _lower_note(label, ray),
            )

    return body


def _lower_note(label: str, ray: Ray) -> str:
    """ "SignGD: ϱ falls to 2.19·10⁻³⁷ by 100η*, where the scan ends", beside its legend's
    ϱ = 0.0141 at η*, the balance judged (the infimum alone read as the direction's balance, 10³⁵
    below the paper's)."""
    if ray.lower_further is None:
        return ""
    return f"{label}: ϱ falls to {number_text(ray.lower_further)} by 100η*, where the scan ends"


class CapacityController(QtCore.QObject):
    """Starts, streams and cancels the capacity panel's background computations."""

    finished = QtCore.Signal()  # a sweep or ray search ended (completed, cancelled or failed)

    def __init__(
        self, plot, config: Callable[[], ExperimentConfig | None], alert: Callable[[str], None], parent=None
    ) -> None:
        super().__init__(parent)
        self.plot = plot
        self._config = config
        self._alert = alert
        self._job: Job | None = None
        self._results: list[PointResult] = []
        self._rays: list[tuple] = []
        self._axis = ""
        self._sweep_config: ExperimentConfig | None = None
        self._ray_config: ExperimentConfig | None = None
        self._titles = ("", "", "")  # the sweep's x title, y title and the y title's short form
        self._planned = 0
        self._refused_for: ExperimentConfig | None = None  # settings a sweep not asked for was refused
        plot.run_requested.connect(self.run)
        plot.cancel_requested.connect(self.cancel)
        plot.mode_changed.connect(self._on_mode_changed)

    @property
    def running(self) -> bool:
        """True from a run's start until its last result has reached the window."""
        return self._job is not None

    @property
    def progress(self) -> tuple[int, int]:
        """(results arrived, results planned) of the computation on show."""
        return (len(self._results) if self._axis else len(self._rays)), self._planned

    @property
    def results(self) -> tuple[PointResult, ...]:
        """The points of the sweep on show, in the order they arrived."""
        return tuple(self._results)

    def run(self, mode: str, asked: bool = True) -> None:
        """Start the sweep (or ray) of ``mode`` for the current settings, replacing any running job.

        One that cannot start says why on the panel (after run was pressed, ④ said "press run" under
        the message saying it could not), and in the message bar only if the user asked for it
        (``asked``): `shot --steps 0` of a preset opening on a sweep wrote a picture under a red
        "run.steps = 0 is not allowed" nobody had asked about.
        """
        self.stop()
        config = self._config()
        if config is None:
            return
        self._refuse_on_the_plot(mode, None, None)

        def refuse(reason: str) -> None:  # on the plot, and where asked for, in the message bar too
            self._refuse_on_the_plot(mode, reason, config)
            if asked:
                self._alert(reason)

        problem = view_problem(config.task, mode) if mode in (*SWEEP_PLOTS, "ray") else "there is no sweep"
        if problem:
            refuse(f"Cannot run '{mode}': {problem}.")
            return
        if mode == "ray":
            self._rays, self._axis, self._planned = [], "", len(config.lanes)
            self._ray_config = config
            job = Job(ray_body(config), "muonscope-ray", parent=self)
            job.yielded.connect(self._on_ray)
            self.plot.set_running(True, 0, len(config.lanes))
        else:
            try:
                points = plan(config, mode)
                check_points_memory(
                    points, config.run.max_memory_gb, sharing=local_workers(0, usable_cores())
                )
            except ConfigError as exc:
                refuse(str(exc))
                return
            self._results, self._axis, self._sweep_config = [], mode, config
            self._planned = len(points)
            job = Job(sweep_body(points), "muonscope-sweep", parent=self)
            job.yielded.connect(self._on_point)
            self._titles = SWEEP_PLOTS[mode].titles(points[0].steps)
            self._show_sweep([], [])  # its axes first
            self.plot.set_running(True, 0, len(points))
        job.failed.connect(lambda message: self._alert(f"The capacity computation failed: {message}"))
        job.finished.connect(self._on_finished)
        self._job = job
        job.start()

    def _refuse_on_the_plot(self, mode: str, reason: str | None, config: ExperimentConfig | None) -> None:
        self._refused_for = config  # the settings the reason holds for
        self.plot.set_refusal(mode, reason)

    def forget_if_stale(self, config: ExperimentConfig) -> None:
        """A new run (a reset, apply & restart, another preset) or a live change (a lane switched,
        retuned or removed): a sweep or ray computed for other settings goes, and the panel says to
        run it again (a sweep for signal strengths 12, 8, 5 stayed under a run of 1, 1, 1 as if it
        were its own, and a removed lane's curve stayed). One whose points are the same stays."""
        if self._refused_for is not None and config != self._refused_for:
            self._refuse_on_the_plot("", None, None)  # other settings: "press run" may hold now
        if self._axis and self._sweep_config is not None:
            stale = _points_or_none(self._sweep_config, self._axis) != _points_or_none(config, self._axis)
        elif self._rays and self._ray_config is not None:
            stale = (self._ray_config.task, self._ray_config.lanes) != (config.task, config.lanes)
        else:
            return
        if stale:
            self.stop()
            self._results, self._rays, self._planned = [], [], 0
            self._sweep_config = self._ray_config = None
            self.plot.clear_sweep()
            self.plot.show_why_empty()

    def cancel(self) -> None:
        """Stop soon; what has arrived stays on show."""
        if self._job is not None:
            self._job.cancel()

    def stop(self, deadline_ms: int = STOP_DEADLINE_MS) -> bool:
        """Cancel and wait for the running job; nothing more of it reaches the panel.

        False when it was still computing at the deadline: it then ends on its own, unseen.
        """
        ended = True
        if self._job is not None:
            ended = self._job.stop(deadline_ms)
            self._job.deleteLater()
            self._job = None
        self.plot.set_running(False)
        return ended

    @QtCore.Slot(object)
    def _on_point(self, result: PointResult) -> None:
        self._results.append(result)
        self.plot.set_running(True, len(self._results), self._planned)
        drawn = curves(self._results, self._axis)
        shown = [(c.lane, c.label, c.x, c.mean, c.lo, c.hi, c.seeds) for c in drawn]
        slopes = fitted_slopes(self._axis, drawn)
        notes = {lane: f"fitted slope {slope:.2f}" for lane, slope in slopes.items()}
        for curve in drawn:  # a lane that diverged at every point draws nothing: its note says why
            if curve.diverged:
                notes[curve.lane] = "; ".join(filter(None, (notes.get(curve.lane), curve.diverged_note)))
        self._show_sweep(shown, guides(self._sweep_config, self._axis, drawn), notes)

    def _show_sweep(self, shown: list, guide_lines: list, legend_notes: dict[int, str] | None = None) -> None:
        plot = SWEEP_PLOTS[self._axis]
        x_label, y_label, y_short = self._titles
        self.plot.set_sweep(
            shown,
            guide_lines,
            x_label,
            y_label,
            plot.log_x,
            plot.log_y,
            y_short,
            whole_seeds=len(SEEDS),
            legend_notes=legend_notes,
        )

    @QtCore.Slot(object)
    def _on_ray(self, ray: tuple) -> None:
        self._rays.append(ray)
        self.plot.set_running(True, len(self._rays), self._planned)
        self.plot.set_ray([ray[:4] for ray in self._rays], [ray[4] for ray in self._rays])

    @QtCore.Slot()
    def _on_finished(self) -> None:
        self.plot.set_running(False, *self.progress)
        if self._job is not None:
            self._job.deleteLater()
        self._job = None
        self.finished.emit()

    def _on_mode_changed(self, name: str, _value: str) -> None:
        if name == "x" and self.running:
            self.stop()


def _points_or_none(config: ExperimentConfig, axis: str) -> list | None:
    """The points a sweep along ``axis`` runs for ``config`` (None where it cannot run)."""
    try:
        return plan(config, axis)
    except ConfigError:
        return None

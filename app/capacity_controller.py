"""The capacity panel's sweeps and one-step rays, computed in the background from the live settings."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

from muonscope.app.background import BackgroundJob, SweepJob
from muonscope.app.sweep_axes import SWEEP_PLOTS
from muonscope.engine.balance import one_step_rays
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.sweep import PointResult
from muonscope.engine.sweep_plans import curves, guides, plan
from muonscope.engine.task_kinds import view_problem

__all__ = ["CapacityController"]


class CapacityController(QtCore.QObject):
    """Starts, streams and cancels the capacity panel's background computations."""

    def __init__(
        self, plot, config: Callable[[], ExperimentConfig], alert: Callable[[str], None], parent=None
    ) -> None:
        super().__init__(parent)
        self.plot = plot
        self._config = config
        self._alert = alert
        self.job: BackgroundJob | None = None
        self._results: list[PointResult] = []
        self._axis = ""
        self._sweep_config: ExperimentConfig | None = None
        self._planned = 0
        self._busy = False
        self._connections: list = []
        plot.run_requested.connect(self.run)
        plot.cancel_requested.connect(self.cancel)
        plot.mode_changed.connect(self._on_mode_changed)

    @property
    def running(self) -> bool:
        """True from a run's start until its last result has reached the window."""
        return self._busy

    def update_modes(self, config: ExperimentConfig) -> None:
        """Disable the modes the task cannot offer, each with its reason."""
        for mode in (*SWEEP_PLOTS, "ray", "steps"):
            problem = view_problem(config.task, mode)
            self.plot.set_mode_state(mode, not problem, problem)

    def run(self, mode: str) -> None:
        """Start the sweep (or ray) of ``mode`` for the current settings, replacing any running job."""
        self.stop()
        config = self._config()
        problem = view_problem(config.task, mode) if mode in (*SWEEP_PLOTS, "ray") else "no sweep"
        if problem:
            self._alert(f"Cannot run '{mode}': {problem}.")
            return
        if mode == "ray":
            self.job = BackgroundJob(lambda _worker: one_step_rays(config), self)
            self._connect(self.job.worker.finished, self._on_rays)
        else:
            try:
                points = plan(config, mode)
            except ConfigError as exc:
                self._alert(str(exc))
                return
            self._results, self._axis, self._sweep_config = [], mode, config
            self._planned = len(points)
            self.job = SweepJob(points, self)
            self._connect(self.job.worker.progressed, self._on_point)
            self._connect(self.job.worker.finished, self._on_sweep_done)
            x_label, y_label, log_x, log_y = SWEEP_PLOTS[mode]
            self.plot.set_sweep([], [], x_label, y_label, log_x, log_y)  # the axes, before any point
            self.plot.set_running(True, 0, len(points))
        self._connect(self.job.worker.failed, self._on_failed)
        self._busy = True
        self.job.start()

    def _connect(self, signal, slot) -> None:
        signal.connect(slot)
        self._connections.append((signal, slot))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def stop(self) -> None:
        """Cancel and wait for the running job (used on mode changes and when the window closes)."""
        if self.job is not None:
            for signal, slot in self._connections:
                signal.disconnect(slot)  # results of a stopped run must not reach the next one
            self._connections = []
            self.job.stop()
            self.job = None
        self._busy = False
        self.plot.set_running(False)

    @QtCore.Slot(object, int, int)
    def _on_point(self, result: PointResult, done: int, total: int) -> None:
        self._results.append(result)
        self.plot.set_running(True, done, total)
        drawn = curves(self._results, self._axis)
        x_label, y_label, log_x, log_y = SWEEP_PLOTS[self._axis]
        shown = [(c.lane, c.label, c.x, c.mean, c.lo, c.hi) for c in drawn]
        self.plot.set_sweep(
            shown, guides(self._sweep_config, self._axis, drawn), x_label, y_label, log_x, log_y
        )

    @QtCore.Slot(object, bool)
    def _on_sweep_done(self, _value, _cancelled: bool) -> None:
        self._busy = False
        self.plot.set_running(False, len(self._results), self._planned)

    @QtCore.Slot(object, bool)
    def _on_rays(self, rays, cancelled: bool) -> None:
        if rays is not None and not cancelled:
            self.plot.set_ray([(lane, label, gap, loss) for lane, label, gap, loss, _rho in rays])
        self._busy = False
        self.plot.set_running(False)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        self._alert(f"The capacity computation failed: {message}")

    def _on_mode_changed(self, name: str, _value: str) -> None:
        if name == "x" and self.running:
            self.stop()

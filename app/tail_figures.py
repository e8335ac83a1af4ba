"""Figures of Wang et al.'s tail-end presets (9–10): loss along the one-step ray, per-group accuracy."""

from __future__ import annotations

from muonscope.app.figures import Figure, Panel, Presentation, lane_series
from muonscope.engine.reproduce import Reproduction
from muonscope.engine.reproduce.tail_isotropy import group_label

__all__ = ["PRESENTATIONS", "group_axis_label"]


def _loss_vs_gap(reproduction: Reproduction) -> list[Figure]:
    panels = tuple(
        Panel(
            f"{data.setting['embeddings']} embeddings, K = {data.setting['K']}",
            "Δ(W) along the ray",
            "population loss",
            lane_series(data.curves),
        )
        for data in reproduction.curve_sets("loss_vs_gap_along_ray")
    )
    return [Figure("loss_vs_gap", "Population loss against Δ along the one-step ray", panels)]


def _groups(reproduction: Reproduction) -> list[Figure]:
    """Each optimizer at its best learning rate, in lane colour order: accuracy by group, Δ(W_t) by step."""
    best = reproduction.curve_sets("at_best_lr")
    step, sizes, seed = (best[0].setting[key] for key in ("step", "group_sizes", "seed"))
    by_group = Panel(
        f"recovered share per staircase group at step {step} (seed {seed})",
        group_axis_label(sizes),
        "accuracy",
        lane_series({_at_lr(data.setting): data.curves["group_accuracy"] for data in best}),
    )
    trajectory = Panel(
        f"Δ(W_t) = max_k p̂(k|k) − min_k p̂(k|k) (seed {seed})",
        "step",
        "Δ",
        lane_series({data.setting["optimizer"]: data.curves["balance_gap"] for data in best}),
    )
    over_time = tuple(
        Panel(
            f"{group_label(data.setting['group'], data.setting['classes'])}: recovered share "
            f"(seed {data.setting['seed']})",
            "step",
            "accuracy",
            lane_series(data.curves),
        )
        for data in reproduction.curve_sets("tail_group_over_time")
    )
    return [
        Figure("groups", "Per-group accuracy and balance over steps", (by_group, trajectory)),
        Figure("tail_groups", "The tail groups over steps, each optimizer at its best lr", over_time),
    ]


def group_axis_label(sizes: list[int]) -> str:
    """The group axis of a staircase: g = 0…G−1 with the class count of each, e.g. ``(1, 1, 2, …, 512)``."""
    shown = sizes if len(sizes) <= 5 else [*sizes[:3], "…", sizes[-1]]
    return f"group g = 0…{len(sizes) - 1} (classes: {', '.join(str(n) for n in shown)})"


def _at_lr(setting: dict) -> str:
    return f"{setting['optimizer']}, lr ×{setting['lr_scale']:g}"


PRESENTATIONS = {
    "tail_balance_one_step": Presentation("Tail-end balance, one step (Wang et al. Fig. 4b)", _loss_vs_gap),
    "tail_multi_step_isotropy": Presentation("Tail-end, multi-step, isotropy (Wang et al.)", _groups),
}

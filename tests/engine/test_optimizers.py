"""Update rules against PyTorch's optimizers (oracles) and SCIENCE.md §11 check 4–5."""

import itertools

import pytest
import torch

from muonscope.engine.config import LaneConfig, TaskConfig, lane_from_dict
from muonscope.engine.errors import format_value, plain_number
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.optim.rules import LaneState
from muonscope.engine.tasks.memory_task import MemoryTask

DT = torch.float64


def _problem(rows=12, cols=12, seed=0):
    """A smooth matrix objective f(W) = ½‖A W B − C‖² + Σ log cosh(W) with a W-dependent gradient."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(rows, rows, generator=gen, dtype=DT) / rows**0.5
    b = torch.randn(cols, cols, generator=gen, dtype=DT) / cols**0.5
    c = torch.randn(rows, cols, generator=gen, dtype=DT)
    w0 = 0.1 * torch.randn(rows, cols, generator=gen, dtype=DT)

    def loss(w):
        return 0.5 * ((a @ w @ b - c) ** 2).sum() + torch.log(torch.cosh(w)).sum()

    def grad(w):
        w = w.detach().requires_grad_(True)
        loss(w).backward()
        return w.grad.detach()

    return w0, loss, grad


def _run_ours(lane, w0, grad, steps):
    w, state, path = w0.clone(), LaneState(), []
    rule = OPTIMIZERS[lane.optimizer].rule
    for _ in range(steps):
        w = w - lane.lr * rule(grad(w), state, lane)
        path.append(w.clone())
    return path


def _run_torch(make_opt, w0, loss, steps):
    w = w0.clone().requires_grad_(True)
    opt, path = make_opt([w]), []
    for _ in range(steps):
        opt.zero_grad()
        loss(w).backward()
        opt.step()
        path.append(w.detach().clone())
    return path


def _max_rel(ours, theirs):
    return max(float((a - b).norm() / b.norm()) for a, b in zip(ours, theirs, strict=True))


@pytest.mark.parametrize(("beta1", "beta2", "eps"), [(0.9, 0.999, 1e-8), (0.8, 0.95, 1e-6), (0.0, 0.9, 1e-8)])
def test_adam_matches_torch(beta1, beta2, eps):
    w0, loss, grad = _problem()
    lane = LaneConfig(optimizer="adam", lr=0.01, momentum=beta1, beta2=beta2, eps=eps)
    ours = _run_ours(lane, w0, grad, 30)
    theirs = _run_torch(lambda p: torch.optim.Adam(p, lr=0.01, betas=(beta1, beta2), eps=eps), w0, loss, 30)
    assert _max_rel(ours, theirs) < 1e-10


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_sum_buffer_matches_torch(nesterov):
    w0, loss, grad = _problem()
    lane = LaneConfig(optimizer="sgd", lr=0.05, momentum=0.9, buffer="sum", nesterov=nesterov)
    ours = _run_ours(lane, w0, grad, 30)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=nesterov), w0, loss, 30)
    assert _max_rel(ours, theirs) < 1e-12


def test_an_sgd_lane_left_to_its_default_keeps_torchs_sum_buffer():
    """A hand-made SGD lane's lr means what torch.optim.SGD's lr means; Muon keeps its EMA."""
    w0, loss, grad = _problem()
    lane = lane_from_dict({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9})
    assert lane.buffer == "sum" and LaneConfig(optimizer="sgd").buffer == "sum"
    assert LaneConfig(optimizer="muon").buffer == "ema" and LaneConfig(optimizer="signgd").buffer == "ema"
    assert LaneConfig(optimizer="sgd", buffer="ema").buffer == "ema"  # a named convention is kept
    ours = _run_ours(lane, w0, grad, 30)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), w0, loss, 30)
    assert _max_rel(ours, theirs) < 1e-12


def test_sgd_ema_buffer_is_sum_buffer_scaled_by_one_minus_mu():
    w0, _, grad = _problem()
    ema = _run_ours(LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9, buffer="ema"), w0, grad, 20)
    total = _run_ours(LaneConfig(optimizer="sgd", lr=0.05, momentum=0.9, buffer="sum"), w0, grad, 20)
    assert _max_rel(ema, total) < 1e-12


def test_plain_sgd_without_momentum_is_gradient_descent():
    w0, _, grad = _problem()
    path = _run_ours(LaneConfig(optimizer="sgd", lr=0.1, momentum=0.0), w0, grad, 3)
    w = w0.clone()
    for _ in range(3):
        w = w - 0.1 * grad(w)
    assert torch.allclose(path[-1], w, atol=1e-14)


@pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs PyTorch >= 2.9")
def test_muon_ns5_nesterov_ema_matches_torch_muon():
    """Check 5: torch.optim.Muon (weight_decay=0, nesterov) and our NS5 Muon, bf16, 10 steps."""
    w0, loss, grad = _problem(rows=16, cols=16)
    lane = LaneConfig(
        optimizer="muon",
        lr=0.02,
        momentum=0.95,
        nesterov=True,
        polar="ns",
        ns_steps=5,
        ns_dtype="bfloat16",
        buffer="ema",
        order="pre",
    )
    ours = _run_ours(lane, w0, grad, 10)
    theirs = _run_torch(
        lambda p: torch.optim.Muon(p, lr=0.02, weight_decay=0.0, momentum=0.95, nesterov=True),
        w0,
        loss,
        10,
    )
    steps_ours = [ours[0] - w0] + [b - a for a, b in itertools.pairwise(ours)]
    steps_theirs = [theirs[0] - w0] + [b - a for a, b in itertools.pairwise(theirs)]
    assert _max_rel(steps_ours, steps_theirs) < 3e-2
    assert _max_rel(ours, theirs) < 3e-2


def test_adam_first_step_is_sign_of_gradient():
    """Check 4: bias-corrected Adam with ε = 0 takes sign(G) on its first step."""
    g = torch.randn(7, 5, generator=torch.Generator().manual_seed(3), dtype=DT)
    g[2, 3] = 0.0
    lane = LaneConfig(optimizer="adam", lr=1.0, momentum=0.9, beta2=0.999, eps=0.0)
    step = OPTIMIZERS["adam"].rule(g, LaneState(), lane)
    assert torch.allclose(step, torch.sign(g), rtol=0, atol=1e-14)  # exact up to round-off
    assert step[2, 3] == 0.0


def test_adam_with_zero_betas_is_signgd_every_step():
    """Check 4: Adam(β1 = β2 = 0, ε = 0) equals SignGD at every step, including sign(0) = 0."""
    w0, _, grad = _problem()
    w0[0, 0] = 0.0
    adam = _run_ours(LaneConfig(optimizer="adam", lr=0.01, momentum=0.0, beta2=0.0, eps=0.0), w0, grad, 15)
    sign = _run_ours(LaneConfig(optimizer="signgd", lr=0.01, momentum=0.0, order="none"), w0, grad, 15)
    for a, b in zip(adam, sign, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_signgd_takes_no_step_along_an_entry_that_is_round_off(dtype):
    """A gradient entry that is 0 in exact arithmetic comes out of a matrix product as 0 or as
    ±1e-17, by the machine's summation order; its sign was a full step with no signal behind it."""
    g = torch.randn(8, 6, generator=torch.Generator().manual_seed(4), dtype=dtype)
    # exact zeros, scattered as block-Hadamard embeddings leave them (half of G, never a whole row
    # or column), each left as round-off: a few eps of the terms that cancelled there, which are of
    # the size of its row's and column's entries
    zero = (torch.arange(8).view(-1, 1) + torch.arange(6).view(1, -1)) % 2 == 0  # (8, 6) checkerboard
    g[zero] = 0.0
    size = g.abs()
    terms = torch.minimum(size.amax(dim=1, keepdim=True), size.amax(dim=0, keepdim=True))  # (8, 6)
    eps = torch.finfo(dtype).eps
    noise = torch.tensor([1.0, -3.0, -2.0, 0.5] * 12, dtype=dtype).view(8, 6) * eps * terms  # (8, 6)
    rounded = g.clone()
    rounded[zero] = noise[zero]
    lane = LaneConfig(optimizer="signgd", lr=1.0, momentum=0.0, order="none")
    clean = OPTIMIZERS["signgd"].rule(g, LaneState(), lane)
    assert torch.equal(clean, torch.sign(g))  # the oracle where nothing is at round-off level
    assert torch.equal(OPTIMIZERS["signgd"].rule(rounded, LaneState(), lane), clean)
    small = g.clone()
    small[0, 0] = 1e-4 * g.abs().max()  # small but far above round-off: its sign is taken
    assert OPTIMIZERS["signgd"].rule(small, LaneState(), lane)[0, 0] == 1.0


@pytest.mark.parametrize("optimizer", ["signgd", "tra_signgd"])
def test_sign_rules_in_float32_keep_the_signs_of_a_rare_items_entries(optimizer):
    """Oracle: the same rule in float64. Identity embeddings and a staircase of frequencies put a
    rare item's entries of G 10⁻⁸ below the largest; a floor of 64 round-offs of the largest entry
    took them as 0 in float32, and SignGD stopped learning the tail (87% of the signs at K = 1024)."""
    k = 1024
    task = {"kind": "two_level", "profile": "staircase", "d": k, "n_items": k, "embeddings": "identity"}
    lane = LaneConfig(optimizer=optimizer, lr=1.0, momentum=0.0, order="none")
    steps = {}
    for dtype in (torch.float32, torch.float64):
        memory = MemoryTask(TaskConfig(**task, batch_size=0), torch.device("cpu"), dtype)
        g = memory.signal_gradients(torch.zeros(1, k, k, dtype=dtype))[0]  # (K, K)
        state = LaneState(geometry=memory.geometry if optimizer == "tra_signgd" else None)
        steps[dtype] = OPTIMIZERS[optimizer].rule(g, state, lane)
    old_floor = 64 * torch.finfo(torch.float32).eps * g.abs().max()
    assert ((g != 0) & (g.abs() < old_floor)).any()  # the case: genuine entries below the old floor
    torch.testing.assert_close(steps[torch.float32].double(), steps[torch.float64], rtol=1e-5, atol=1e-6)


def _hand_sequence():
    gen = torch.Generator().manual_seed(5)
    return [torch.randn(6, 4, generator=gen, dtype=DT) for _ in range(4)]


@pytest.mark.parametrize("optimizer", ["signgd", "ngd", "muon"])
def test_momentum_order_semantics(optimizer):
    """pre: map(EMA of G); post: EMA of map(G); none: map(G) — computed by hand."""
    grads = _hand_sequence()
    mu = 0.8
    maps = {
        "signgd": torch.sign,
        "ngd": lambda x: x / x.norm(),
        "muon": lambda x: (lambda u, s, vh: u @ vh)(*torch.linalg.svd(x, full_matrices=False)),
    }
    fn = maps[optimizer]
    outputs = {}
    for order in ("pre", "post", "none"):
        lane = LaneConfig(optimizer=optimizer, lr=1.0, momentum=mu, order=order, buffer="ema")
        state = LaneState()
        outputs[order] = [OPTIMIZERS[optimizer].rule(g, state, lane) for g in grads]
    m_pre = torch.zeros_like(grads[0])
    m_post = torch.zeros_like(grads[0])
    for t, g in enumerate(grads):
        m_pre = mu * m_pre + (1 - mu) * g
        m_post = mu * m_post + (1 - mu) * fn(g)
        assert torch.allclose(outputs["pre"][t], fn(m_pre), atol=1e-12)
        assert torch.allclose(outputs["post"][t], m_post, atol=1e-12)
        assert torch.allclose(outputs["none"][t], fn(g), atol=1e-12)


def test_nesterov_ema_lookahead():
    grads = _hand_sequence()
    mu = 0.9
    lane = LaneConfig(optimizer="muon", lr=1.0, momentum=mu, order="pre", nesterov=True, polar="exact")
    state = LaneState()
    m = torch.zeros_like(grads[0])
    for g in grads:
        m = mu * m + (1 - mu) * g
        blend = (1 - mu) * g + mu * m
        u, _, vh = torch.linalg.svd(blend, full_matrices=False)
        assert torch.allclose(OPTIMIZERS["muon"].rule(g, state, lane), u @ vh, atol=1e-12)


def test_muon_regularized_and_ns_polar_are_selectable():
    g = _hand_sequence()[0]
    exact = OPTIMIZERS["muon"].rule(g, LaneState(), LaneConfig(polar="exact", order="none"))
    reg = OPTIMIZERS["muon"].rule(g, LaneState(), LaneConfig(polar="reg", lam=1e3, order="none"))
    ns = OPTIMIZERS["muon"].rule(g, LaneState(), LaneConfig(polar="ns", ns_steps=5, order="none"))
    s_exact, s_ns = torch.linalg.svdvals(exact), torch.linalg.svdvals(ns)
    assert torch.allclose(s_exact, torch.ones_like(s_exact), atol=1e-12)
    assert 0.6 < s_ns.min()
    assert s_ns.max() < 1.25
    assert not torch.allclose(ns, exact, atol=1e-3)
    assert torch.allclose(1e3 * reg, g, rtol=1e-4, atol=1e-8)


def test_registry_labels_write_small_settings_in_plain_digits_a_user_can_type():
    """ "SGD μ=0.9 sum lr=1e-05" beside axes that never write e-notation; the label is also what a
    breakpoint or --until names the lane by."""
    assert LaneConfig(optimizer="sgd", momentum=0.9, lr=1e-5).display_label() == "SGD μ=0.9 sum lr=0.00001"
    reg = LaneConfig(optimizer="muon", order="pre", polar="reg", lam=1e-5, lr=2e-5)
    assert reg.display_label() == "Muon pre μ=0.95 ema reg λ=0.00001 lr=0.00002"
    for value in (1e-5, 2.5e-7, 3e6, 0.3, 128.0, 1e-9, 123456789.0):
        assert float(plain_number(value)) == value and "e" not in plain_number(value)
    assert plain_number(1e30) == "1e30" and plain_number(1e-10) == "1e-10"  # past 10^±9: no rows of zeros
    assert format_value((12.0, 8.0, 5.0)) == "(12, 8, 5)" and format_value([0.5, 1e-5]) == "[0.5, 0.00001]"


def test_a_label_gives_back_the_setting_as_typed_not_rounded_to_six_digits():
    """μ = 0.999999999999 read "μ=1", the value the μ box refuses, and lanes at lr 128 and
    128.00001 read alike; a value that no one types (0.1 + 0.2) is not written to 17 digits."""
    lane = LaneConfig(optimizer="muon", momentum=0.999999999999, order="pre", polar="exact", lr=128.00001)
    assert lane.display_label() == "Muon pre μ=0.999999999999 ema exact lr=128.00001"
    for value in (0.1234567, 1.0000001e-7, 2.000003e6):
        assert float(plain_number(value)) == value
    assert plain_number(0.1 + 0.2) == "0.3"


def test_registry_labels_name_the_settings():
    lane = LaneConfig(optimizer="muon", momentum=0.95, order="pre", polar="exact", lr=0.3)
    assert lane.display_label() == "Muon pre μ=0.95 ema exact lr=0.3"
    assert LaneConfig(optimizer="sgd", momentum=0.9, lr=0.5).display_label() == "SGD μ=0.9 sum lr=0.5"
    assert LaneConfig(optimizer="sgd", momentum=0.0, lr=0.5).display_label() == "SGD lr=0.5"  # no buffer
    assert LaneConfig(optimizer="muon", order="none", lr=0.3).display_label() == "Muon exact lr=0.3"
    assert (
        LaneConfig(optimizer="adam", lr=0.1, momentum=0.9).display_label().startswith("Adam β=(0.9, 0.999)")
    )
    assert LaneConfig(label="mine").display_label() == "mine"
    # Newton–Schulz in another precision than the run's is another lane: two read alike
    ns = LaneConfig(optimizer="muon", polar="ns", lr=0.05)
    assert ns.display_label() == "Muon pre μ=0.95 ema NS5 lr=0.05"
    bf16 = LaneConfig(optimizer="muon", polar="ns", ns_dtype="bfloat16", lr=0.05)
    assert bf16.display_label() == "Muon pre μ=0.95 ema NS5 bfloat16 lr=0.05"


@pytest.mark.parametrize("name", ["muon", "signgd", "ngd"])
def test_lanes_that_run_the_same_update_share_a_label(name):
    """At μ = 0 the orders pre, post and none run one update: their labels must not tell them apart."""
    gen = torch.Generator().manual_seed(3)
    grads = [torch.randn(6, 5, generator=gen, dtype=DT) for _ in range(3)]
    updates, labels = [], set()
    for order in ("pre", "post", "none"):
        lane, state = LaneConfig(optimizer=name, momentum=0.0, order=order, lr=0.3), LaneState()
        updates.append(torch.stack([OPTIMIZERS[name].rule(g, state, lane) for g in grads]))
        labels.add(lane.display_label())
    assert all(torch.allclose(update, updates[0], atol=1e-12) for update in updates)
    assert len(labels) == 1
    with_buffer = {LaneConfig(optimizer=name, momentum=0.9, order=o).display_label() for o in ("pre", "post")}
    assert len(with_buffer) == 2


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize(("momentum", "order"), [(0.0, "pre"), (0.9, "pre"), (0.9, "post"), (0.9, "none")])
def test_the_state_an_optimizer_declares_is_the_state_its_rule_keeps(name, momentum, order):
    """The memory estimate counts state by the registry's declaration: it must be what the rule holds."""
    from muonscope.engine.config import TaskConfig
    from muonscope.engine.tasks import build_task

    spec = OPTIMIZERS[name]
    lane = LaneConfig(optimizer=name, momentum=momentum, order=order)
    task = build_task(TaskConfig(d=8, n_items=8, embeddings="orthogonal"), torch.device("cpu"), DT)
    state = LaneState(geometry=task.geometry if spec.needs_geometry else None)
    gen = torch.Generator().manual_seed(1)
    for _ in range(2):
        spec.rule(torch.randn(8, 8, generator=gen, dtype=DT), state, lane)
    kept = [t for t in (state.buffer, state.second_moment) if t is not None]
    assert all(t.shape == (8, 8) for t in kept)
    assert len(kept) == spec.state_matrices(lane)


#: Another valid value for each lane field, to see whether changing it changes anything.
_OTHER_VALUE = {
    "momentum": lambda v: 0.5 if v != 0.5 else 0.8,
    "order": lambda v: "post" if v != "post" else "pre",
    "nesterov": lambda v: not v,
    "polar": lambda v: "ns" if v != "ns" else "exact",
    "ns_steps": lambda v: 2 if v != 2 else 3,
    "lam": lambda v: 0.5 if v != 0.5 else 0.25,
    "buffer": lambda v: "sum" if v != "sum" else "ema",
    "beta2": lambda v: 0.9 if v != 0.9 else 0.99,
    "eps": lambda v: 0.1 if v != 0.1 else 0.2,
    "ns_dtype": lambda v: "float32" if v != "float32" else "float64",
}
#: Lanes whose ignored fields are checked: each optimizer with its defaults, and Muon, SignGD and SGD
#: with other settings that change which fields are idle (no buffer; each polar map; μ = 0).
_IDLE_FIELD_LANES = [{"optimizer": name} for name in OPTIMIZERS] + [
    {"optimizer": "muon", "order": "none"},
    {"optimizer": "muon", "polar": "reg"},
    {"optimizer": "muon", "polar": "ns"},
    {"optimizer": "signgd", "order": "none", "momentum": 0.9},
    {"optimizer": "sgd", "momentum": 0.0},  # μ = 0: the buffer is the gradient, whatever its convention
    {"optimizer": "muon", "momentum": 0.0},
    {"optimizer": "signgd", "momentum": 0.0},  # its order too: reported "pre" where it had none
]


@pytest.mark.parametrize(
    "settings", _IDLE_FIELD_LANES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items())
)
def test_a_field_said_to_have_no_effect_leaves_every_step_as_it_was(settings):
    """What the controls grey out and the command line refuses must really change nothing."""
    from muonscope.engine import Experiment, ExperimentConfig, RunConfig, TaskConfig
    from muonscope.engine.optim.registry import lane_field_problem

    task = TaskConfig(d=8, n_items=24, alpha=1.2, batch_size=8)
    run = RunConfig(eval_every=1_000_000, spectra_every=1_000_000)

    def weights_after_steps(lane: LaneConfig) -> torch.Tensor:
        experiment = Experiment(ExperimentConfig(task=task, lanes=(lane,), run=run))
        experiment.step(3)
        return experiment.weights.clone()

    lane = lane_from_dict(settings)
    idle = [name for name in _OTHER_VALUE if lane_field_problem(lane, name)]
    assert idle  # every lane here ignores something
    base = weights_after_steps(lane)
    for name in idle:
        changed = lane_from_dict({**settings, name: _OTHER_VALUE[name](getattr(lane, name))})
        assert torch.equal(weights_after_steps(changed), base), name


def _scaled_update(rule: str, scale: float, dtype: torch.dtype, **settings) -> torch.Tensor:
    """One step of ``rule`` from a fresh state on a fixed 8×6 gradient times ``scale``, in float64."""
    lane = (
        LaneConfig(optimizer=rule, momentum=0.0, order="none", **settings)
        if rule != "adam"
        else (LaneConfig(optimizer="adam", **settings))
    )
    g = torch.randn(8, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * scale
    return OPTIMIZERS[rule].rule(g.to(dtype), LaneState(), lane).double()


@pytest.mark.parametrize(
    ("rule", "settings", "scale"),
    [
        ("ngd", {}, 1e-25),
        ("ngd", {}, 1e20),
        ("ngd", {}, 3e30),
        ("muon", {"polar": "ns"}, 1e20),  # below ‖G‖_F ≈ 10⁻⁷ Keller's ε keeps it from orthogonalising
        ("muon", {"polar": "ns"}, 3e30),
        ("muon", {"polar": "reg", "lam": 1e-28}, 1e-25),
        ("muon", {"polar": "reg", "lam": 1e-3}, 1e20),
        ("muon", {"polar": "reg", "lam": 1e-3}, 3e30),
    ],
)
def test_a_scale_free_update_in_float32_is_float64s_at_any_scale(rule, settings, scale):
    """‖G‖_F squared each entry: in float32 it was inf for a gradient of 10²⁰ and 0 for one of
    10⁻²⁵, and NGD and Newton–Schulz stepped by 0, unflagged; h_λ's σ² + λ² overflowed alike."""
    exact = _scaled_update(rule, scale, torch.float64, **settings)
    single = _scaled_update(rule, scale, torch.float32, **settings)
    assert torch.isfinite(single).all() and exact.norm() > 0.5
    assert float((single - exact).norm() / exact.norm()) < 1e-5


@pytest.mark.parametrize("scale", [1.0, 3e19])
def test_adams_first_step_in_float32_is_float64s_while_g_squared_fits(scale):
    """v/(1 − β2ᵗ) overflowed for |g| near 10¹⁹ though v itself fits: those entries stepped by 0
    with every stored state finite, so the lane was never flagged."""
    exact = _scaled_update("adam", scale, torch.float64, lr=0.01)
    single = _scaled_update("adam", scale, torch.float32, lr=0.01)
    assert torch.count_nonzero(single) == single.numel()
    assert float((single - exact).norm() / exact.norm()) < 1e-5


def test_an_optimizer_is_described_by_the_fields_it_reads_not_by_its_name(monkeypatch):
    """A new optimizer that keeps its own moment and reads β₂ (Lion, say) was labelled "Lion lr=0.01"
    and its gap read on G, "no lane keeps a buffer": the registry asked for the name "adam"."""
    import dataclasses

    from muonscope.engine.optim.registry import lane_field_problem

    moments = dataclasses.replace(OPTIMIZERS["adam"], name="adam_like", title="AdamLike")
    mapped = dataclasses.replace(OPTIMIZERS["muon"], name="muon_like", title="MuonLike")
    monkeypatch.setitem(OPTIMIZERS, "adam_like", moments)
    settings = LaneConfig(optimizer="adam", lr=0.01, momentum=0.9, beta2=0.99, eps=1e-6)  # read as its
    assert moments.describe(settings) == "AdamLike β=(0.9, 0.99) ε=0.000001 lr=0.01"
    assert moments.buffer_convention(settings) == "ema" and moments.gradient_average_scale(settings) == 1.0
    muon = LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, polar="ns")
    assert mapped.describe(muon) == OPTIMIZERS["muon"].describe(muon).replace("Muon", "MuonLike")
    sgd = LaneConfig(optimizer="sgd", beta2=0.9)
    assert lane_field_problem(sgd, "beta2").endswith("only Adam and AdamLike keep a second moment (β₂, ε)")

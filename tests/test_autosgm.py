"""AutoSGM: spec facts F1-F13 through the optimizer, against torch.optim and a plain per-tensor reading of spec §2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from optimizers import REGISTRY, AutoSGM
from optimizers.autosgm_maths import AutoSGMSums, autosgm, autosgm_state, secant_terms
from optimizers.autosgm_workspace import LayerViews
from optimizers.stability import kappa_max
from optimizers.windows import WindowConfig, window_at

OFF = WindowConfig(rcm=0)
BETA_N, BETA_A = 0.9999, 0.999


def _mlp(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) * 0.5)
    x = torch.randn(16, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(16, 3, generator=generator, dtype=torch.float64)
    return model, x, y


def _train(model, optimizer, x, y, steps: int, scale: float = 1.0) -> torch.Tensor:
    """``steps`` steps on a loss that varies a little per step; returns the parameters, flattened."""
    for step in range(steps):
        optimizer.zero_grad()
        (scale * (1 + 0.1 * math.sin(step)) * torch.nn.functional.mse_loss(model(x), y)).backward()
        optimizer.step()
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _compare(make_a, make_b, steps: int = 8, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    (model_a, x, y), (model_b, _, _) = _mlp(), _mlp()
    return _train(model_a, make_a(model_a.parameters()), x, y, steps, scale), _train(
        model_b, make_b(model_b.parameters()), x, y, steps, scale)


def _scalar_run(optimizer_kwargs: dict, loss, w0: float, steps: int) -> tuple[list[float], list[float], list[dict]]:
    """(w_0..w_T, g_1..g_T (raw), stats after each step) of AutoSGM on one scalar parameter."""
    w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
    optimizer = AutoSGM([w], **optimizer_kwargs)
    ws, gs, stats = [w0], [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss(w).backward()
        gs.append(float(w.grad))
        optimizer.step()
        ws.append(float(w.detach()))
        stats.append(dict(optimizer.stats))
    return ws, gs, stats


# --- F1-F5: the special cases are torch.optim's optimizers (float64, an MLP, several steps) ---------------------


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_f1_constant_rate_without_filter_is_plain_sgd_bit_for_bit(eta: float) -> None:
    a, b = _compare(lambda ps: AutoSGM(ps, (False, 0.1, 0), (BETA_N, BETA_A, 0.0, 0.0, eta, False), OFF),
                    lambda ps: torch.optim.SGD(ps, lr=0.1))
    assert torch.equal(a, b)
    a, b = _compare(lambda ps: AutoSGM.preset("sgd", ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1))
    assert torch.equal(a, b)


def test_f2_heavy_ball_is_torch_momentum() -> None:
    a, b = _compare(lambda ps: AutoSGM.preset("heavy_ball", ps, lr=0.05, momentum=0.9, weight_decay=0.01),
                    lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


def test_f3_nesterov_is_torch_nesterov() -> None:
    a, b = _compare(lambda ps: AutoSGM(ps, (False, 0.05, 0), (BETA_N, BETA_A, 0.8, 0.8 / 1.8, 1.0, False), OFF),
                    lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_f4_f5_adam_with_coupled_decay_is_torch_adam(weight_decay: float) -> None:
    settings = {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": weight_decay}
    a, b = _compare(lambda ps: AutoSGM(ps, (True, 0.01, 0), (BETA_N, 0.99, 0.8, 0.0, 0.0, True), OFF,
                                       (weight_decay, 0), (1e-8, False)),
                    lambda ps: torch.optim.Adam(ps, **settings))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)
    a, b = _compare(lambda ps: AutoSGM.preset("adam", ps, **settings), lambda ps: torch.optim.Adam(ps, **settings))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


def test_f4_without_debias_is_adam_without_bias_correction() -> None:
    model, x, y = _mlp()
    expected = [p.detach().clone() for p in model.parameters()]
    m, v = [torch.zeros_like(p) for p in expected], [torch.zeros_like(p) for p in expected]
    reference, _, _ = _mlp()
    for step in range(8):
        reference.zero_grad()
        ((1 + 0.1 * math.sin(step)) * torch.nn.functional.mse_loss(reference(x), y)).backward()
        with torch.no_grad():
            for p, m_i, v_i in zip(reference.parameters(), m, v, strict=True):
                m_i.mul_(0.9).add_(p.grad, alpha=0.1)
                v_i.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                p.sub_(0.01 * m_i / (v_i.sqrt() + 1e-8))
    got = _train(model, AutoSGM(model.parameters(), (True, 0.01, 0), (BETA_N, 0.999, 0.9, 0.0, 0.0, False), OFF), x,
                 y, 8)
    torch.testing.assert_close(got, torch.cat([p.detach().reshape(-1) for p in reference.parameters()]), rtol=1e-13,
                               atol=1e-15)


def test_f5_adamw_is_decoupled_decay_with_rho_lambda_over_one_minus_beta() -> None:
    settings = {"lr": 0.01, "betas": (0.9, 0.999), "weight_decay": 0.1}
    a, b = _compare(lambda ps: AutoSGM.preset("adamw", ps, **settings), lambda ps: torch.optim.AdamW(ps, **settings))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)
    rho = 0.1 * (1 - 0.0) / (1 - 0.9)  # spec §2.4: AdamW(lam) <=> rho = lam (1 - gamma) / (1 - beta)
    a, b = _compare(lambda ps: AutoSGM(ps, (True, 0.01, 0), (BETA_N, 0.999, 0.9, 0.0, 0.0, True), OFF, (rho, 1)),
                    lambda ps: torch.optim.AdamW(ps, **settings))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


# --- F6-F8: the filter and its debias, through the optimizer ------------------------------------------------------


@pytest.mark.parametrize("debias", [True, "exact"])
def test_f6_with_debias_eta_has_no_effect(debias) -> None:
    def make(eta: float):
        return lambda ps: AutoSGM(ps, (True, 0.01, 0), (BETA_N, BETA_A, 0.9, 0.5, eta, debias))

    a, b = _compare(make(0.0), make(0.37), steps=12)
    torch.testing.assert_close(a, b, rtol=1e-14, atol=2e-16)


def test_f7_pole_zero_cancellation_without_debias_is_plain_sgd() -> None:
    a, b = _compare(lambda ps: AutoSGM(ps, (False, 0.1, 0), (BETA_N, BETA_A, 0.7, 0.7, 0.0, False), OFF),
                    lambda ps: torch.optim.SGD(ps, lr=0.1))
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("debias", "first_step"), [(True, 1 / (1 - 0.9)), ("exact", 1.0)])
def test_f7_pole_zero_cancellation_first_step_with_debias(debias, first_step: float) -> None:
    """The seed's debias inflates the all-pass output by 1 / (1 - beta^t) (spec §5 item 4); "exact" does not."""
    kwargs = {"lr_cfg": (False, 1.0, 0), "beta_cfg": (BETA_N, BETA_A, 0.9, 0.9, 0.0, debias), "rc_cfg": OFF}
    ws, gs, _ = _scalar_run(kwargs, lambda w: 0.5 * (w**2).sum(), 2.0, 1)
    assert ws[1] - ws[0] == pytest.approx(-first_step * gs[0], rel=1e-14)


@pytest.mark.parametrize(
    ("gamma", "debias", "expected"),
    [
        (0.5528, True, [1 / (1 - 0.5528), 1.5855]),  # spec F8: the seed's debias overshoots when gamma != 0
        (0.0, True, [1.0, 1.0, 1.0, 1.0]),
        (0.5528, "exact", [1.0, 1.0, 1.0, 1.0]),  # the exact step response: 1 at every t
    ],
)
def test_f8_debiased_step_response(gamma: float, debias, expected: list[float]) -> None:
    kwargs = {"lr_cfg": (False, 1.0, 0), "beta_cfg": (BETA_N, BETA_A, 0.9, gamma, 0.0, debias), "rc_cfg": OFF}
    ws, _, _ = _scalar_run(kwargs, lambda w: w.sum(), 0.0, len(expected))  # a constant gradient of 1
    np.testing.assert_allclose(-np.diff(ws), expected, rtol=1e-4 if debias is True and gamma else 1e-14)


# --- F9-F10: closed-loop stability and the deadbeat design, through the optimizer -----------------------------------


@pytest.mark.parametrize(
    ("beta", "gamma", "expected"),
    [(0.9, 0.0, 3.8), (0.9, 0.9 / 1.9, 2.57857), (0.9, 1 - math.sqrt(0.2), 2.44721), (0.5, 1 / 3, 2.25),
     (0.0, 0.0, 2.0), (0.9, -0.1 / 1.9, 1.9), (0.9, -0.5, 0.2), (0.99, 1 - math.sqrt(0.02), 2.14142),
     (0.5, -1.5, 1 / 3)],
)
def test_f9_kappa_max_table(beta: float, gamma: float, expected: float) -> None:
    """Spec F9 and the §3.3 table (gamma = 0, Nesterov's, the author's default, the lowest admissible, <= -1)."""
    assert kappa_max(beta, gamma) == pytest.approx(expected, abs=6e-6)


def test_f9_kappa_max_is_the_jury_boundary_for_every_sign_of_gamma() -> None:
    rng = np.random.default_rng(0)
    for beta, gamma, kappa in zip(rng.uniform(0, 0.999, 2000), rng.uniform(-3, 0.999, 2000), rng.uniform(0, 12, 2000),
                                  strict=True):
        roots = np.roots([1.0, -(1 + beta - kappa), beta - kappa * gamma])
        radius, bound = np.abs(roots).max(), kappa_max(beta, gamma)
        if abs(kappa / bound - 1) > 1e-9 and abs(radius - 1) > 1e-9:
            assert (kappa < bound) == (radius < 1), (beta, gamma, kappa)


def test_kappa_max_refuses_values_outside_its_domain() -> None:
    with pytest.raises(ValueError, match="gamma < 1"):
        kappa_max(0.9, 1.0)


def _quadratic_kwargs(beta: float, gamma: float, kappa: float, h: float) -> dict:
    """Constant rate alpha with loop gain kappa = alpha eta_bar h on f = h/2 w^2 (the spec §3.2 closed loop)."""
    eta_bar = (1 - beta) / (1 - gamma)  # unit-DC filter (eta_i = 0)
    alpha = kappa / (eta_bar * h)
    return {"lr_cfg": (False, alpha, 0), "beta_cfg": (BETA_N, BETA_A, beta, gamma, 0.0, False), "rc_cfg": OFF}


@pytest.mark.parametrize(("beta", "gamma"), [(0.9, 0.0), (0.9, 0.5528), (0.5, -0.4), (0.0, 0.0)])
@pytest.mark.parametrize("fraction", [0.4, 0.9, 1.1])
def test_stability_margin_is_kappa_over_kappa_max_on_a_scalar_quadratic(beta, gamma, fraction: float) -> None:
    h = 3.0
    kappa = fraction * kappa_max(beta, gamma)
    ws, _, stats = _scalar_run(_quadratic_kwargs(beta, gamma, kappa, h), lambda w: 0.5 * h * (w**2).sum(), 1.0, 600)
    assert math.isnan(stats[0]["stability_margin"])
    assert stats[5]["stability_margin"] == pytest.approx(fraction, rel=1e-9)
    assert stats[5]["curvature"] == pytest.approx(h, rel=1e-9)
    late, early = np.abs(ws[-50:]).max(), np.abs(ws[200:250]).max()
    assert (late < 1e-3 * early) == (fraction < 1)


def test_f10_deadbeat_reaches_zero_error_in_two_steps() -> None:
    beta, h, w_star, e0 = 0.9, 2.5, 0.3, 1.7
    kwargs = _quadratic_kwargs(beta, beta / (1 + beta), 1 + beta, h)
    ws, _, _ = _scalar_run(kwargs, lambda w: 0.5 * h * ((w - w_star) ** 2).sum(), w_star + e0, 5)
    errors = np.array(ws) - w_star
    assert errors[1] == pytest.approx(-beta * e0, rel=1e-14)
    assert np.abs(errors[2:]).max() <= 1e-15 * e0


# --- F11: the LTV identity of spec §3.1, with a time-varying rate ---------------------------------------------------


@pytest.mark.parametrize("decay", [None, 0, 1])
def test_f11_parameter_change_obeys_the_ltv_identity(decay: int | None) -> None:
    beta, gamma, rho = 0.9, 0.5, 0.03
    kwargs = {"lr_cfg": (True, 0.05, 0), "beta_cfg": (BETA_N, BETA_A, beta, gamma, 0.0, True),
              "rc_cfg": WindowConfig(rcm=1, spe=7), "wd_cfg": (0.0 if decay is None else rho, decay or 0)}
    ws, gs, stats = _scalar_run(kwargs, lambda w: (torch.log(torch.cosh(w - 1)) + 0.05 * w**4).sum(), 2.0, 40)
    w, g = np.array(ws), np.array(gs)  # w_0..w_T, g_1..g_T (index t - 1)
    alpha = np.array([s["lr_effective"] for s in stats])  # alpha_t, exact for one coordinate
    d = np.array([s["denominator"] for s in stats])
    kappa_t = 1 / (1 - beta ** np.arange(1, len(gs) + 1))  # the seed's debias factor with eta_i = 0
    eta_bar = (1 - beta) / (1 - gamma)
    for t in range(2, len(gs)):  # w_t is ws[t - 1]: the step t moves w_{t-1} -> w_t; use 1-based t for g, alpha
        e_t = gamma * g[t - 2] - g[t - 1]
        if decay == 0:
            e_t += rho * (gamma * w[t - 2] - w[t - 1])
        elif decay == 1:
            tilde = d * w[:-1] / kappa_t  # w~_t = d_t w_t / kappa_t
            e_t += rho * (beta * tilde[t - 2] - tilde[t - 1])
        change, previous = w[t] - w[t - 1], w[t - 1] - w[t - 2]
        predicted = beta * alpha[t - 1] / alpha[t - 2] * previous + eta_bar * alpha[t - 1] * e_t
        assert change == pytest.approx(predicted, rel=1e-9, abs=1e-15)


# --- F13 and the numerators against a plain reading of the spec ----------------------------------------------------


def test_f13_chebyshev_numerator_starts_at_cf_sqrt_one_minus_beta_n_and_reaches_mu() -> None:
    model, x, y = _mlp()
    optimizer = AutoSGM(model.parameters(), (True, 1e-3, 1), (BETA_N, BETA_A, 0.9, 0.5528, 0.0, True))
    _train(model, optimizer, x, y, 1)
    assert optimizer.stats["numerator"] == pytest.approx(4 * math.sqrt(1 - BETA_N) * 1e-3, rel=1e-6)
    _train(model, optimizer, x, y, 99)
    assert optimizer.stats["numerator"] < 0.9e-3
    _train(model, optimizer, x, y, 900)
    assert optimizer.stats["numerator"] == pytest.approx(1e-3, rel=1e-12)


class SpecAutoSGM:
    """A plain per-tensor reading of spec §2.1-§2.7: direct-form filter with g_{t-1} kept, every EMA as written."""

    def __init__(self, params, *, lr, beta, gamma, eta, debias, aoptlr, num_lrc, eps, repeat_eps, weight_decay,
                 wd_level, per_layer, rc, cf=4.0) -> None:
        self.params, self.state = list(params), {}
        self.h = {"lr": lr, "beta": beta, "gamma": gamma, "eta": eta, "debias": debias, "aoptlr": aoptlr,
                  "num_lrc": num_lrc, "eps": eps, "repeat_eps": repeat_eps, "rho": weight_decay, "wd": wd_level,
                  "per_layer": per_layer, "rc": rc, "cf": cf}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                self._step(p)

    def _step(self, p: torch.Tensor) -> None:
        h = self.h
        mu, beta, gamma, eps = h["lr"], h["beta"], h["gamma"], h["eps"]
        zeros = torch.zeros_like(p)
        s = self.state.setdefault(p, {"t": 0, "q": zeros, "g_prev": zeros, "m": zeros, "nbar": 0.0, "s2": 0.0,
                                      "z": zeros, "W": zeros, "A": zeros, "xbar": zeros, "dev": zeros, "acc": zeros,
                                      "abar": 0.0 if h["per_layer"] else zeros})
        s["t"] += 1
        t, w = s["t"], p.detach().clone()
        g = p.grad + h["rho"] * w if h["wd"] == 0 else p.grad.clone()
        eta_f, eta_m = h["eta"] or 1 - beta, h["eta"] or 1 - BETA_A
        if h["aoptlr"]:
            s["m"] = BETA_A * s["m"] + eta_m * g**2
            k_a = (1 - BETA_A) / eta_m / (1 - BETA_A**t) if h["debias"] else 1.0
            d = torch.sqrt(k_a * s["m"] + (eps if h["repeat_eps"] else 0.0)) + eps
        else:
            d = torch.ones_like(w)
        gbar = g / d
        s["q"] = beta * s["q"] + eta_f * (g - gamma * s["g_prev"])
        s["g_prev"] = g
        if h["debias"] == "exact":
            kappa = (1 - beta) / (eta_f * (1 - beta ** (t - 1) * (beta - gamma) / (1 - gamma)))
        else:
            kappa = (1 - beta) / eta_f / (1 - beta**t) if h["debias"] else 1.0
        v = kappa * s["q"] / (1 - gamma) / d
        if h["wd"] == 1:
            v = v + (1 - beta) / (1 - gamma) * h["rho"] * w
        a = self._numerator(s, w, gbar, v, d) if h["aoptlr"] else mu
        p.copy_(w - window_at(t, h["rc"]) * a * v)

    def _numerator(self, s, w, gbar, v, d):
        h = self.h
        mu, eps, cf, mode = h["lr"], h["eps"], h["cf"], h["num_lrc"]

        def ema(old, new):
            return BETA_N * old + (1 - BETA_N) * new

        if mode == 0:
            return mu
        if mode == 1:
            s["nbar"] = ema(s["nbar"], torch.linalg.vector_norm(v))
            delta = torch.linalg.vector_norm(v - s["nbar"]) + eps
            s["s2"] = ema(s["s2"], delta**2)
            return mu * torch.clamp(cf * (torch.sqrt(s["s2"]) + eps) / delta, max=1.0)
        if mode == 2:
            s["z"] = ema(s["z"], mu * (w**2 + gbar**2))
            raw = torch.clamp(s["z"], max=mu)
        else:
            s["W"] = ema(s["W"], w**2)
            omega = BETA_N * s["W"] if mode == 3 else s["W"]
            mu_prime = mu / (1 + omega)
            x = w * gbar
            if mode == 3:
                s["A"] = ema(s["A"], x.abs() + eps)
                psi = x / (x.abs() + eps) * torch.minimum(x.abs() + eps, cf * s["A"])
            else:
                s["xbar"] = ema(s["xbar"], x)
                delta = (x - s["xbar"]).abs() + eps
                s["dev"] = ema(s["dev"], delta**2)
                psi = x * torch.clamp((torch.sqrt(s["dev"]) + eps) / delta, max=1.0)
            s["acc"] = BETA_N * s["acc"] + mu_prime * psi
            u = torch.clamp(d, max=1.0)
            tukey = (1 - u**2) ** 2 * u
            raw = torch.clamp(s["acc"].abs(), min=tukey * mu_prime, max=mu_prime * (1 + omega) ** 2)
        s["abar"] = 0.1 * s["abar"] + 0.9 * (raw.mean() if self.h["per_layer"] else raw)
        return s["abar"]


SPEC_CASES = [
    {"num_lrc": n, "per_layer": per_layer} for n in range(5) for per_layer in (True, False) if n >= 2 or per_layer
] + [
    {"num_lrc": 3, "weight_decay": 0.02, "wd_level": 1, "debias": "exact"},
    {"num_lrc": 4, "weight_decay": 0.02, "wd_level": 0, "repeat_eps": True, "eps": 1e-6},
    {"num_lrc": 1, "weight_decay": 0.02, "wd_level": 1},
    {"num_lrc": 2, "eta": 0.3, "debias": False},
    {"num_lrc": 0, "aoptlr": False, "weight_decay": 0.01, "wd_level": 1, "rc": WindowConfig(rcm=4, spe=5, x=0.1)},
]


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda case: "-".join(f"{k}={v}" for k, v in case.items()))
@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["d<1", "some d>1"])
def test_matches_a_plain_reading_of_the_spec(case: dict, scale: float) -> None:
    h = {"lr": 0.02, "beta": 0.9, "gamma": 0.4, "eta": 0.0, "debias": True, "aoptlr": True, "eps": 1e-8,
         "repeat_eps": False, "weight_decay": 0.0, "wd_level": 0, "per_layer": True,
         "rc": WindowConfig(rcm=1, spe=9), **case}
    a, b = _compare(
        lambda ps: AutoSGM(ps, (h["aoptlr"], h["lr"], h["num_lrc"]),
                           (BETA_N, BETA_A, h["beta"], h["gamma"], h["eta"], h["debias"]), h["rc"],
                           (h["weight_decay"], h["wd_level"]), (h["eps"], h["repeat_eps"]), per_layer=h["per_layer"]),
        lambda ps: SpecAutoSGM(ps, **h), steps=15, scale=scale)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def _stats_per_step(optimizer: AutoSGM, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
                    read: bool = True) -> list[dict[str, float]]:
    stats = []
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        if read:
            stats.append(dict(optimizer.stats))
    return stats


def test_stats_are_the_same_whenever_they_are_read_and_across_a_save() -> None:
    """The telemetry is computed when read (the secant from the buffers the step kept): reading it at every step,
    only at the last, or after a state_dict round trip gives the same numbers."""
    make = lambda model: AutoSGM(model.parameters(), (True, 0.02, 3), (BETA_N, BETA_A, 0.9, 0.4, 0.0, True))  # noqa: E731
    model, x, y = _mlp()
    every = _stats_per_step(make(model), model, x, y, 12)
    assert all(not math.isnan(step["curvature"]) for step in every[1:])

    model, x, y = _mlp()
    optimizer = make(model)
    _stats_per_step(optimizer, model, x, y, 11, read=False)
    assert _stats_per_step(optimizer, model, x, y, 1) == every[11:]

    model, x, y = _mlp()
    first = make(model)
    _stats_per_step(first, model, x, y, 6, read=False)
    saved = first.state_dict()
    second = make(model)
    second.load_state_dict(saved)
    assert _stats_per_step(second, model, x, y, 6) == every[6:]


def test_tensors_that_skip_steps_keep_their_own_step_counts() -> None:
    """A tensor without a gradient is not stepped; the packs of tensors stepped together change and still agree."""
    models, x, y = [_mlp()[0], _mlp()[0]], *_mlp()[1:]
    h = {"lr": 0.02, "beta": 0.9, "gamma": 0.4, "eta": 0.0, "debias": True, "aoptlr": True, "num_lrc": 3, "eps": 1e-8,
         "repeat_eps": False, "weight_decay": 0.0, "wd_level": 0, "per_layer": True, "rc": WindowConfig(rcm=1, spe=9)}
    optimizers = [AutoSGM(models[0].parameters(), (True, 0.02, 3), (BETA_N, BETA_A, 0.9, 0.4, 0.0, True), h["rc"]),
                  SpecAutoSGM(models[1].parameters(), **h)]
    for step in range(12):
        for model, optimizer in zip(models, optimizers, strict=True):
            model.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            if step % 3 == 1:
                model[0].bias.grad = None  # this tensor sits out every third step
            optimizer.step()
        if step == 1:  # the tensors stepped together changed: the secant over them is unknown for one step
            assert math.isnan(optimizers[0].stats["stability_margin"])
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-13)


# --- the runs axis, the parameter as the state, presets, validation, the registry fields ---------------------------


def _telemetry(sums: AutoSGMSums) -> tuple:
    """The call's sums with the secant's two terms read out."""
    return (sums.numerator, sums.denominator, sums.rate, sums.count, *secant_terms(sums.secant))


@pytest.mark.parametrize(
    "options",
    [{"num_lrc": 0}, {"num_lrc": 1}, {"num_lrc": 2, "per_layer": False}, {"num_lrc": 3}, {"num_lrc": 4},
     {"aoptlr": False, "wd_level": 1, "debias": "exact"}, {"num_lrc": 3, "wd_level": 1, "repeat_eps": True}],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()),
)
def test_runs_axis_batched_equals_separate(options: dict) -> None:
    generator = torch.Generator().manual_seed(3)
    shapes, runs = [(3, 4), (5,), ()], 3
    hyper = {"lr": torch.tensor([0.01, 0.05, 0.002]), "beta": torch.tensor([0.9, 0.5, 0.0]),
             "gamma": torch.tensor([0.5, -0.3, 0.0]), "beta_a": torch.tensor([0.999, 0.99, 0.9]),
             "beta_n": torch.tensor([0.9999, 0.99, 0.999]), "eps": torch.tensor([1e-8, 1e-6, 1e-3]),
             "weight_decay": torch.tensor([0.0, 0.01, 0.1]), "cf": torch.tensor([4.0, 2.0, 1.0]),
             "window": torch.tensor([1.0, 0.5, 0.25])}
    params = [torch.randn(runs, *shape, generator=generator, dtype=torch.float64) for shape in shapes]
    flags = {"aoptlr": True, **options}
    state = autosgm_state(params, aoptlr=flags["aoptlr"], num_lrc=flags.get("num_lrc", 0),
                          per_layer=flags.get("per_layer", True))
    alone = [([p[r : r + 1].clone() for p in params], {k: v[r : r + 1].clone() for k, v in state.items()})
             for r in range(runs)]
    for t in range(1, 8):
        grads = [torch.randn(runs, *shape, generator=generator, dtype=torch.float64) for shape in shapes]
        sums = autosgm(params, grads, state, t, **hyper, **flags)
        for r, (params_r, state_r) in enumerate(alone):
            sums_r = autosgm(params_r, [g[r : r + 1] for g in grads], state_r, t,
                             **{k: float(v[r]) for k, v in hyper.items()}, **flags)
            for total, single in zip(_telemetry(sums), _telemetry(sums_r), strict=True):
                expected = torch.as_tensor(single, dtype=torch.float64).reshape(-1)
                got = torch.as_tensor(total, dtype=torch.float64).reshape(-1)
                torch.testing.assert_close(got[r if got.numel() > 1 else 0], expected[0], rtol=1e-12, atol=1e-14,
                                           equal_nan=True)
    for r, (params_r, _) in enumerate(alone):
        for whole, single in zip(params, params_r, strict=True):
            torch.testing.assert_close(whole[r : r + 1], single, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("num_lrc", range(5))
def test_the_workspace_holds_the_same_buffers_and_views_from_the_third_step_on(num_lrc: int) -> None:
    """The temporaries and views a caller keeps between steps are made in the first two steps (g and D alternate
    between two buffers), then reused: nothing accumulates over a long run, and from the third step on no view of
    the layers is made."""
    params = [torch.randn(1, 3, 4, dtype=torch.float64), torch.randn(1, 5, dtype=torch.float64)]
    state, workspace = autosgm_state(params, num_lrc=num_lrc), {}
    buffers, views = [], []
    for t in range(1, 7):
        autosgm(params, [torch.randn_like(p) for p in params], state, t, lr=0.01, beta=0.9, gamma=0.5,
                num_lrc=num_lrc, workspace=workspace)
        buffers.append(set(map(id, [*workspace.values(), state["delta"]])))
        (layer_views,) = [value for value in workspace.values() if isinstance(value, LayerViews)]
        views.append({id(view) for cache in (layer_views.columns, layer_views.shaped) for _, made in cache.values()
                      for view in made})
    assert buffers[2] == buffers[3] == buffers[4] == buffers[5]
    assert views[2] == views[3] == views[4] == views[5]


def test_the_parameter_is_the_state() -> None:
    """No private master copy (spec §5 item 6): edits between steps are seen, and no entry is nudged by eps."""
    w = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    optimizer = AutoSGM.preset("sgd", [w], lr=0.5)
    w.grad = torch.zeros(2, dtype=torch.float64)
    optimizer.step()
    assert w.detach().tolist() == [0.0, 1.0]
    with torch.no_grad():
        w.fill_(3.0)
    w.grad = torch.ones(2, dtype=torch.float64)
    optimizer.step()
    assert w.detach().tolist() == [2.5, 2.5]
    assert optimizer.state[w]["filter"].shape == w.shape


def test_maximize_ascends() -> None:
    model, x, y = _mlp()
    descent = _train(model, AutoSGM(model.parameters()), x, y, 5)
    model, _, _ = _mlp()
    ascent = _train(model, AutoSGM(model.parameters(), maximize=True), x, y, 5, scale=-1.0)
    torch.testing.assert_close(ascent, descent, rtol=1e-14, atol=1e-15)


def test_stats_are_floats_with_every_key() -> None:
    model, x, y = _mlp()
    optimizer = AutoSGM(model.parameters())
    _train(model, optimizer, x, y, 3)
    assert set(optimizer.stats) == {"window", "numerator", "denominator", "lr_effective", "curvature",
                                    "stability_margin"}
    assert all(isinstance(value, float) and math.isfinite(value) for value in optimizer.stats.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta_cfg": (BETA_N, BETA_A, 0.9, 1.0, 0.0, True)}, r"invalid gamma=1.0; valid range: -1 < gamma < 1"),
        ({"beta_cfg": (BETA_N, BETA_A, 1.0, 0.0, 0.0, True)}, r"invalid beta=1.0; valid range: 0 <= beta < 1"),
        ({"beta_cfg": (BETA_N, 1.5, 0.9, 0.0, 0.0, True)}, r"invalid beta_a=1.5"),
        ({"beta_cfg": (BETA_N, BETA_A, 0.9, 0.0, 0.0, "maybe")}, r"invalid debias='maybe'; allowed values"),
        ({"beta_cfg": (0.9, 0.5)}, r"invalid beta_cfg=\(0.9, 0.5\); expected a tuple \(beta_n, beta_a, beta_i"),
        ({"lr_cfg": (True, -1.0, 0)}, r"invalid lr=-1.0; valid range: lr >= 0"),
        ({"lr_cfg": (True, 1e-3, 5)}, r"invalid num_lrc=5; valid range: 0 <= num_lrc <= 4"),
        ({"lr_cfg": ("yes", 1e-3, 0)}, r"invalid aoptlr='yes'; allowed values: True, False"),
        ({"rc_cfg": (7, 0, 0.0, 2.0, 1, 1, 100, 1, 0.0)}, r"invalid rcm=7"),
        ({"wd_cfg": (0.1, 2)}, r"invalid wd_level=2"),
        ({"eps_cfg": (-1.0,)}, r"invalid eps=-1.0"),
        ({"cf": 0.0}, r"invalid cf=0.0"),
    ],
)
def test_bad_configurations_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=rf"AutoSGM: {message}"):
        AutoSGM([torch.zeros(2, requires_grad=True)], **kwargs)


def test_seed_readme_eps_cfg_with_one_entry_works() -> None:
    """The seed README's eps_cfg=(1e-8,) raised IndexError in the seed (spec §5 item 9); here repeat_eps is False."""
    optimizer = AutoSGM([torch.zeros(2, requires_grad=True)], eps_cfg=(1e-8,))
    assert optimizer.param_groups[0]["eps"] == 1e-8 and optimizer.param_groups[0]["repeat_eps"] is False


def test_presets_refuse_unknown_names_and_arguments() -> None:
    params = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"invalid preset='lion'; allowed values: 'sgd'"):
        AutoSGM.preset("lion", params)
    with pytest.raises(TypeError, match="betas"):
        AutoSGM.preset("sgd", params, betas=(0.9, 0.999))
    assert AutoSGM.preset("autosgm", params, lr_cfg=(True, 0.1, 3)).param_groups[0]["num_lrc"] == 3


def test_registry_fields_map_onto_the_tuples() -> None:
    optimizer = REGISTRY["autosgm"].build(
        [torch.zeros(2, requires_grad=True)], lr=0.02, gamma=0.3, numerator="markov_huber_corr", debias="exact",
        adaptive="false", window="logistic_late", window_steps=50, window_min=0.1, window_order=3.0,
        window_mode="full", window_flat=0.2, weight_decay=0.01, decay="decoupled")
    group = optimizer.param_groups[0]
    assert (group["lr"], group["gamma"], group["num_lrc"], group["debias"], group["aoptlr"]) == (
        0.02, 0.3, 3, "exact", False)
    assert group["rc_cfg"] == WindowConfig(6, 0, 0.1, 3.0, 0, 1, 50, 1, 0.2)
    assert (group["weight_decay"], group["wd_level"]) == (0.01, 1)
    with pytest.raises(ValueError, match=r"AutoSGM: invalid window_order=2.0; valid range: 0 < window_order < 1"):
        REGISTRY["autosgm"].build([torch.zeros(2, requires_grad=True)], window="beta_exp")

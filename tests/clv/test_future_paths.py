"""Future attributes by simulation (paper Section 2): Monte Carlo over sampled attribute paths,
the bootstrap sampler, static columns, and their exact references."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from skcrm.clv import AttributeBGNBD, calibration_holdout_split
from skcrm.clv import _likelihood as lik
from skcrm.datasets import make_attribute_bgnbd_data


@pytest.fixture(scope="module")
def sim():
    tx, _ = make_attribute_bgnbd_data(2000, random_state=11)
    cal, hold, length = calibration_holdout_split(tx, 52.0, 104.0)
    model = AttributeBGNBD(
        attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0
    ).fit(cal)
    return model, cal, hold, length


def _subset(cal, n, light=False):
    """Log rows of the first n customers (with at most 6 jobs when light)."""
    sizes = cal.groupby("customer_id").size()
    ids = (sizes[sizes <= 6] if light else sizes).index[:n]
    return cal[cal["customer_id"].isin(ids)]


def _carry_last_sampler(model):
    def sampler(history, n_future, rng):
        last = model._prepare(history, fit=False)["last_attrs"]
        return np.repeat(last[:, None, None, :], n_future, axis=2)  # (m, 1 path, J, attrs)

    return sampler


def _binomial_expectation(model, X, t, p):
    """Eq. 6 with future jobs iid: attr = 1 w.p. p, else 0, cont = 0 (exact, by the binomial)."""
    prep, (n, R, A, U, V), _ = model._state(X)  # histories only; the scenario is unused
    r, alpha, s, b, _ = model._args()
    q0, q1 = 1.0, np.exp(model.coef_["attr"])
    K = 400
    g = np.zeros((n.size, K))  # g[:, j] = E[S(V + B+_j)] / S(V), B+_j = i q1 + (j - i) q0
    for j in range(K):
        i = np.arange(j + 1)
        B = i * q1 + (j - i) * q0
        ratio = ((b + V[:, None]) / (b + V[:, None] + B[None, :])) ** s
        g[:, j] = ratio @ stats.binom.pmf(i, j, p)
    W = np.concatenate([np.zeros((n.size, 1)), np.cumsum(g, axis=1)], axis=1)  # W_m, m = 0..K
    z = t / (t + alpha + A)
    pmf = stats.nbinom.pmf(np.arange(K + 1)[None, :], (r + n)[:, None], 1 - z[:, None])
    pa = lik.probability_alive(n, R, A, U, V, r, alpha, s, b)
    return pa * np.sum(pmf * W, axis=1)


def test_degenerate_sampler_reproduces_carry_last_exactly(sim):
    model, cal, _, length = sim
    exact = model.conditional_expected_transactions(cal, length)
    mc = clone(model).set_params(future_attributes=_carry_last_sampler(model))
    mc.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(mc.conditional_expected_transactions(cal, length), exact, atol=1e-10)
    pmf = mc.probability_of_n_transactions(cal, length, [0, 1, 5])
    np.testing.assert_allclose(
        pmf, model.probability_of_n_transactions(cal, length, [0, 1, 5]), atol=1e-10
    )
    # DERT: the simulated route sums the series of dert_continuous with the same multipliers
    part = _subset(cal, 60)
    prep, hist, (c0, c1, _) = model._state(part)
    rho = np.log(1.002)
    ref = lik.dert_continuous(rho, *hist, *model._args(), c0, c1)
    np.testing.assert_allclose(mc.dert(part, discount_rate=0.002), ref, rtol=1e-10)


def _zero_coef(model):
    zero = clone(model)
    zero.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    zero.coef_ = model.coef_ * 0.0
    zero.mean_repeat_q_ = 1.0
    return zero


def test_zero_coefficients_give_the_same_answer_in_every_scenario(sim):
    model, cal, _, length = sim
    zero = _zero_coef(model)
    part = _subset(cal, 40)
    base = zero.conditional_expected_transactions(cal, length)
    base_dert = zero.dert(part, discount_rate=0.002)
    scenarios = [
        {"future_attributes": "reference"},
        {"future_attributes": "mean_q"},
        {"future_attributes": {"attr": 1.0}},
        {"future_attributes": "reference", "static_cols": ["cont"]},
        {"future_attributes": "bootstrap", "n_future_sims": 20, "random_state": 0},
        {"future_attributes": _carry_last_sampler(model)},
    ]
    for params in scenarios:
        zero.set_params(future_attributes="carry_last", n_future_sims=0, static_cols=None)
        zero.set_params(**params)
        # rounding only: averaging identical paths, ln/exp of the averaged weights
        np.testing.assert_allclose(
            zero.conditional_expected_transactions(cal, length), base, rtol=1e-9, err_msg=params
        )
        # closed-form 2-D quadrature (constant q) vs the simulated-path series: 1e-7
        np.testing.assert_allclose(
            zero.dert(part, discount_rate=0.002), base_dert, rtol=1e-7, err_msg=params
        )


def test_enumerating_all_paths_gives_the_exact_expectation(sim):
    """p = 1/2: all 2^J attribute sequences are equally likely, so their plain average is the
    exact expectation; it matches the binomial closed form to 1e-10."""
    model, cal, _, _ = sim
    part = _subset(cal, 30, light=True)
    t = 1.0  # few future jobs matter, so 2^J paths stay small

    def every_path(history, n_future, rng):
        assert n_future <= 14
        seqs = np.array(list(itertools.product([0.0, 1.0], repeat=n_future)))
        return np.stack([seqs, np.zeros_like(seqs)], axis=-1)  # (2^J, J, [attr, cont])

    enum = clone(model).set_params(future_attributes=every_path)
    enum.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    got = enum.conditional_expected_transactions(part, t)
    np.testing.assert_allclose(got, _binomial_expectation(model, part, t, 0.5), rtol=1e-10)


def test_monte_carlo_mean_converges_to_the_exact_expectation(sim):
    """p = 0.3, 4000 iid paths: Monte Carlo within 0.5 % of the binomial closed form in total
    (its standard error is about 0.1 % here) and within 2 % per customer."""
    model, cal, _, _ = sim
    part = _subset(cal, 60, light=True)
    t = 26.0

    def iid(history, n_future, rng):
        attr = (rng.random((4000, n_future)) < 0.3).astype(float)
        return np.stack([attr, np.zeros_like(attr)], axis=-1)

    mc = clone(model).set_params(future_attributes=iid, random_state=5)
    mc.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    got = mc.conditional_expected_transactions(part, t).to_numpy()
    exact = _binomial_expectation(model, part, t, 0.3)
    err = abs(got.sum() / exact.sum() - 1)
    assert err < 0.005
    np.testing.assert_allclose(got, exact, rtol=0.02)
    # the test discriminates: future jobs all at the reference level miss by far more
    zero = clone(model).set_params(future_attributes={"attr": 0.0, "cont": 0.0})
    zero.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    gap = abs(zero.conditional_expected_transactions(part, t).sum() / exact.sum() - 1)
    assert gap > 10 * err


def test_bootstrap_is_reproducible_from_random_state(sim):
    model, cal, _, length = sim
    part = _subset(cal, 200)
    boot = clone(model).set_params(future_attributes="bootstrap", n_future_sims=30)
    boot.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    a = boot.set_params(random_state=3).conditional_expected_transactions(part, length)
    b = boot.set_params(random_state=3).conditional_expected_transactions(part, length)
    c = boot.set_params(random_state=4).conditional_expected_transactions(part, length)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c, rtol=1e-12)


def test_monte_carlo_and_mean_q_differ_little_in_aggregate(sim):
    """The paper's mean heuristic E(B_k) is close to simulation (~0.3 % there).

    Holdout expected transactions summed over 2,000 simulated customers: iid draws from the
    population's repeat jobs (the setting of the heuristic) within 1 %, the bootstrap of each
    customer's own jobs within 2 %."""
    model, cal, hold, length = sim
    mean_q = clone(model).set_params(future_attributes="mean_q")
    mean_q.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    total_mean_q = mean_q.conditional_expected_transactions(cal, length).sum()
    prep = model._prepare(cal, fit=False)
    pool = prep["nonfirst_attrs"]

    def population(history, n_future, rng):
        return pool[rng.integers(0, len(pool), size=(200, n_future))]

    sims = {
        "population": mean_q.set_params(future_attributes=population, random_state=0),
    }
    total_pop = sims["population"].conditional_expected_transactions(cal, length).sum()
    boot = mean_q.set_params(future_attributes="bootstrap", n_future_sims=200, random_state=0)
    total_boot = boot.conditional_expected_transactions(cal, length).sum()
    assert abs(total_pop / total_mean_q - 1) < 0.01
    assert abs(total_boot / total_mean_q - 1) < 0.02


def test_reference_with_static_cols_keeps_the_customer_level_column(sim):
    model, cal, _, length = sim
    fitted = {k: v for k, v in model.__dict__.items() if k.endswith("_")}
    ref = clone(model).set_params(future_attributes="reference", static_cols=["cont"])
    ref.__dict__.update(fitted)
    over = clone(model).set_params(future_attributes={"attr": 0.0})
    over.__dict__.update(fitted)
    got = ref.conditional_expected_transactions(cal, length)
    np.testing.assert_allclose(got, over.conditional_expected_transactions(cal, length), 1e-12)
    plain = clone(model).set_params(future_attributes="reference")
    plain.__dict__.update(fitted)
    assert not np.allclose(got, plain.conditional_expected_transactions(cal, length))


def test_bootstrap_with_static_cols_keeps_the_last_value(sim):
    """Bootstrap with every column static is carry_last exactly."""
    model, cal, _, length = sim
    boot = clone(model).set_params(
        future_attributes="bootstrap", n_future_sims=5, static_cols=["attr", "cont"]
    )
    boot.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(
        boot.conditional_expected_transactions(cal, length),
        model.conditional_expected_transactions(cal, length),
        atol=1e-10,
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"static_cols": ["nope"]}, r"static_cols \['nope'\] must also be listed"),
        ({"future_attributes": "bootstrap"}, "needs n_future_sims > 0"),
        ({"n_future_sims": 10}, "set future_attributes='bootstrap' or pass a sampler"),
        ({"future_attributes": "mean_q", "static_cols": ["cont"]}, "cannot be combined"),
        ({"future_attributes": {"cont": 0.0}, "static_cols": ["cont"]}, "overrides static_cols"),
    ],
)
def test_bad_future_settings_are_rejected_at_fit_and_predict(sim, params, match):
    model, cal, _, length = sim
    with pytest.raises(ValueError, match=match):
        clone(model).set_params(**params).fit(_subset(cal, 300))
    bad = clone(model).set_params(**params)
    bad.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    with pytest.raises(ValueError, match=match):
        bad.predict(cal)


@pytest.mark.parametrize(
    ("output", "match"),
    [
        (lambda m, J: np.zeros((3, J + 1, 2)), r"returned shape \(3, \d+, 2\); expected"),
        (lambda m, J: np.zeros((3, J, 1)), "returned shape"),
        (lambda m, J: np.zeros((m + 1, 2, J, 2)), "returned shape"),
        (lambda m, J: np.full((3, J, 2), np.nan), "NaN or infinite"),
        (lambda m, J: np.zeros((0, J, 2)), "no paths"),
    ],
)
def test_sampler_returning_bad_paths_is_rejected(sim, output, match):
    model, cal, _, length = sim
    part = _subset(cal, 20)
    m = part["customer_id"].nunique()
    bad = clone(model).set_params(future_attributes=lambda h, J, rng: output(m, J))
    bad.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    with pytest.raises(ValueError, match=match):
        bad.conditional_expected_transactions(part, length)


def test_simulation_needs_attributes():
    tx, _ = make_attribute_bgnbd_data(200, random_state=1)
    m = AttributeBGNBD(future_attributes="bootstrap", n_future_sims=3).fit(tx)
    with pytest.raises(ValueError, match="need a model fitted on a transaction log with attrib"):
        m.predict(tx)


def test_incremental_dert_uses_the_same_paths_in_both_arms(sim):
    """Bootstrap with every column static carries the observed last attributes in both arms,
    so it reproduces the deterministic incremental DERT (series vs quadrature: 1e-6)."""
    model, cal, _, _ = sim
    part = _subset(cal, 40)
    boot = clone(model).set_params(
        future_attributes="bootstrap", n_future_sims=3, static_cols=["attr", "cont"]
    )
    boot.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    kw = {"changes": {"attr": 1.0}, "which": "last", "discount_rate": 0.002}
    np.testing.assert_allclose(
        boot.incremental_dert(part, **kw), model.incremental_dert(part, **kw), rtol=1e-6
    )


def test_evolving_features_are_recomputed_along_a_random_path(dynamic_model):
    """ln q of a sampled path equals the engineered features (Eqs. 8-9) of the same jobs
    appended to the log."""
    m, tx = dynamic_model
    prep = m._prepare(tx, fit=False)
    rng = np.random.default_rng(0)
    n_cust, J = prep["x"].size, 3
    z = np.stack([(rng.random((n_cust, J)) < 0.5) * 1.0, rng.normal(size=(n_cust, J))], -1)
    got = m._path_log_q(z, prep)
    ids = prep["customers"]
    future = [
        pd.DataFrame({"customer_id": ids, "t": 55.0 + j, "attr": z[:, j, 0], "cont": z[:, j, 1]})
        for j in range(J)
    ]
    extended = pd.concat([tx[["customer_id", "t", "attr", "cont"]], *future])
    extended = extended.sort_values(["customer_id", "t"], kind="mergesort")
    ext = m._prepare(extended, fit=False)["H"]
    lq = ext.job_F @ m.coef_.to_numpy()
    ends = np.flatnonzero(np.r_[ext.job_customer[1:] != ext.job_customer[:-1], True])
    expected = np.stack([lq[ends - (J - 1 - j)] for j in range(J)], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_degenerate_sampler_matches_carry_last_with_evolving_coefficients(dynamic_model):
    m, tx = dynamic_model
    mc = clone(m).set_params(future_attributes=_carry_last_sampler(m))
    mc.__dict__.update({k: v for k, v in m.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(
        mc.conditional_expected_transactions(tx, 20.0),
        m.conditional_expected_transactions(tx, 20.0),
        atol=1e-10,
    )

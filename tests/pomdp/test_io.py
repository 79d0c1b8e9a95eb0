"""Cassandra's .POMDP format (read_pomdp / write_pomdp) and the bounded solver on the
standard problems."""

from pathlib import Path

import numpy as np
import pytest

from skcrm.datasets import pomdp_tiger
from skcrm.pomdp import POMDPModel, read_pomdp, write_pomdp

DATA = Path(__file__).parent / "data"


def test_read_tiger_in_both_spellings_gives_the_library_tiger():
    Q, P, R = pomdp_tiger()
    for name, discount in (("tiger.95", 0.95), ("tiger.aaai", 0.75)):
        model, b0 = read_pomdp(DATA / f"{name}.POMDP")
        np.testing.assert_allclose(model.transition, Q)
        np.testing.assert_allclose(model.emission, P)
        np.testing.assert_allclose(model.reward, R)
        assert model.discount == discount
        np.testing.assert_allclose(b0, [0.5, 0.5])
        assert model.action_names == ["listen", "open-left", "open-right"]


def test_read_shuttle_names_start_and_expected_rewards():
    model, b0 = read_pomdp(DATA / "shuttle.95.POMDP")
    assert (model.n_states, model.n_actions, model.n_outcomes) == (8, 3, 5)
    np.testing.assert_allclose(b0, np.eye(8)[7])  # start: docked at the MRV station
    # R: Backup : 3 : 0 : * 10 -> expected reward of Backup from state 3 = 10 T(3 -> 0)
    b = model.action_names.index("Backup")
    assert model.reward[3, b] == pytest.approx(10 * model.transition[b, 3, 0])
    assert model.transition[b, 3, 0] == pytest.approx(0.7)
    # GoForward into a station: -3 whenever the state stays 1 -> 1 (probability 1)
    f = model.action_names.index("GoForward")
    assert model.reward[1, f] == pytest.approx(-3.0)


GRAMMAR = """# every form of the grammar on a made-up 3-state problem
discount: 0.9
values: cost
states: 3
actions: stay go
observations: lo hi
start include: 0 2
T: stay
identity
T: go : * : *  0.2
T: go : 0 : 1  0.6
T: go : 2 : 2  0.6
T: go : 1
uniform
O: * : * : lo 0.7
O: * : * : hi 0.3
O: go : 2
0.1 0.9
R: * : * : * : * 1
R: go : 0 : 1 : hi 5
R: stay : 2
1 2
3 4
5 6
"""


def test_grammar_wildcards_rows_matrices_cost_and_include(tmp_path):
    path = tmp_path / "g.POMDP"
    path.write_text(GRAMMAR)
    model, b0 = read_pomdp(path)
    np.testing.assert_allclose(b0, [0.5, 0, 0.5])
    np.testing.assert_allclose(model.transition[0], np.eye(3))
    np.testing.assert_allclose(model.transition[1], [[0.2, 0.6, 0.2], [1 / 3] * 3, [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(model.emission[1], [[0.7, 0.3], [0.7, 0.3], [0.1, 0.9]])
    # cost: rewards are negated. go from 0: 1 everywhere except (s'=1, hi) = 5
    exp_go0 = 1 + 0.6 * 0.3 * (5 - 1)
    assert model.reward[0, 1] == pytest.approx(-exp_go0)
    # stay from 2 stays in 2 (identity): row s'=2 of the matrix, weighted by O(stay, 2)
    assert model.reward[2, 0] == pytest.approx(-(0.7 * 5 + 0.3 * 6))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("discount: 0.9\nstates: 2\nactions: 1\n", "lacks"),
        (
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0 : 5 : 0 1.0\n",
            "unknown state",
        ),
        ("discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0\n0.5 x\n", "number"),
        (
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\n"
            "T: 0\nidentity\nO: 0\nuniform\n",
            None,
        ),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, text, match):
    path = tmp_path / "bad.POMDP"
    path.write_text(text)
    if match is None:
        model, _ = read_pomdp(path)
        assert model.n_states == 2
    else:
        with pytest.raises(ValueError, match=match):
            read_pomdp(path)


@pytest.mark.parametrize("name", ["tiger.95", "tiger.aaai", "shuttle.95"])
def test_write_then_read_round_trips(tmp_path, name):
    model, b0 = read_pomdp(DATA / f"{name}.POMDP")
    out = tmp_path / "copy.POMDP"
    write_pomdp(model, out, initial_belief=b0)
    again, b1 = read_pomdp(out)
    for attr in ("transition", "emission", "reward"):
        np.testing.assert_array_equal(getattr(again, attr), getattr(model, attr))
    np.testing.assert_array_equal(b1, b0)
    assert again.discount == model.discount
    assert again.state_names == model.state_names


def test_write_refuses_a_finite_horizon(tmp_path):
    model = POMDPModel(*pomdp_tiger(), discount=1.0, horizon=3)
    with pytest.raises(ValueError, match="horizon"):
        write_pomdp(model, tmp_path / "x.POMDP")


# Published / exact values at the file's start belief:
# Tiger 0.95: V*(0.5) = 19.371368 (POMDPs.jl / SARSOP default problem; spec §7 with both
# bounds agreeing); Tiger 0.75: 1.933439 (R package pomdp, solve_POMDP(Tiger) "Total
# expected reward"); CRM3 (spec §6.1, PBVI on 2,001 points and interpolation on 40,001
# agree to 3e-10): 129.773298 at (0.9, 0.1).
@pytest.mark.parametrize(("name", "truth"), [("tiger.95", 19.371368), ("tiger.aaai", 1.933439)])
def test_bounded_solver_from_the_start_belief_brackets_the_published_value(name, truth):
    model, b0 = read_pomdp(DATA / f"{name}.POMDP")
    sol = model.solve(initial_belief=b0)
    info = sol.info
    assert info["converged"]
    assert info["lower"] <= truth + 1e-6 <= info["upper"] + 2e-6
    assert info["relative_gap"] <= 1e-3
    assert abs(sol.value(b0) - truth) / abs(truth) < 1e-3
    assert sol.value(b0) == pytest.approx(info["lower"])


def test_bounded_solver_on_crm3_and_shuttle():
    from skcrm.datasets import make_pomdp_crm

    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    sol = truth.model().solve(initial_belief=[0.9, 0.1])
    assert sol.info["lower"] <= 129.773298 <= sol.info["upper"]
    assert sol.value([0.9, 0.1]) == pytest.approx(129.773298, rel=1e-3)
    # shuttle: the bracket at a 1e-5 tolerance (lower 32.88942, upper 32.88973) must
    # contain the default solve's value and its own bracket must overlap it
    model, b0 = read_pomdp(DATA / "shuttle.95.POMDP")
    sol = model.solve(initial_belief=b0)
    assert sol.info["converged"]
    assert sol.info["lower"] <= 32.88973 and sol.info["upper"] >= 32.88942
    assert sol.value(b0) == pytest.approx(32.8896, rel=1e-3)


@pytest.mark.parametrize(("n", "bad"), [(0, -64), (2, -64), (3, -20), (5, 13.04)])
def test_grids_too_small_to_be_meaningful_are_refused(n, bad):
    # today's failure: Tiger V(0.5) = -64, -64, -20, 13.04 against 19.37, no warning
    model = POMDPModel(*pomdp_tiger(), discount=0.95)
    with pytest.raises(ValueError, match="too small"):
        model.solve(n)


def test_a_budget_that_stops_the_solver_warns_with_the_gap():
    from sklearn.exceptions import ConvergenceWarning

    model, b0 = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.warns(ConvergenceWarning, match="relative gap") as rec:
        sol = model.solve(initial_belief=b0, tol=1e-9, max_time=0.0)
    assert not sol.info["converged"]
    assert sol.info["lower"] <= 19.371368 <= sol.info["upper"]
    assert rec[0].filename == __file__  # at the user's line


# Values at each file's start belief (uniform where the file has no start; network's start
# line is commented out).
# Published: camall3n/grl (Allen et al.'s lambda-discrepancy code), the `belief_perf` table
# of its plotting scripts (values of the belief-state optimal policy at the file's start):
# paint.95 3.293597084371071, shuttle.95 32.88972468934434. Its 4x3, cheese and network
# entries use other start distributions than these files, so they are not comparable.
PUBLISHED = {"paint.95": 3.293597084371071, "shuttle.95": 32.88972468934434}
# Certified here (no published value at these starts was found): brackets from this
# solver at a 1e-5..1e-9 relative gap, whose lower end is the value of an explicit policy
# (checked by Monte Carlo in test_bounds.py) and whose upper end is the fast informed
# bound / sawtooth backed up to a fixed point (an upper bound by convexity of V*); they
# agree with the commonly quoted values (4x3 ~1.89, cheese ~3.49, network ~293).
CERTIFIED = {
    "4x3.95": (1.8898799, 1.8898980),
    "cheese.95": (3.4862066, 3.4862069),
    "paint.95": (3.2935970, 3.2936287),
    "shuttle.95": (32.8897234, 32.8897247),
    "network": (293.18528, 293.19874),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_values_lie_inside_the_certified_brackets(name):
    lo_ref, up_ref = CERTIFIED[name]
    assert lo_ref - 1e-7 <= PUBLISHED[name] <= up_ref + 1e-7


def _check_default_solve(name):
    lo_ref, up_ref = CERTIFIED[name]
    model, b0 = read_pomdp(DATA / f"{name}.POMDP")
    sol = model.solve(initial_belief=b0, open_loop=False)
    info = sol.info
    assert info["converged"] and info["relative_gap"] <= 1e-3
    assert info["lower"] <= up_ref and info["upper"] >= lo_ref  # brackets the truth
    if name in PUBLISHED:
        assert info["lower"] <= PUBLISHED[name] + 1e-7 <= info["upper"] + 2e-7
    mid = 0.5 * (lo_ref + up_ref)
    assert abs(sol.value(b0) - mid) / mid < 1e-3


@pytest.mark.parametrize("name", ["4x3.95", "cheese.95", "paint.95", "shuttle.95"])
def test_default_solve_on_classic_problems_is_within_1e3_and_brackets(name):
    _check_default_solve(name)


@pytest.mark.slow
def test_default_solve_on_network_is_within_1e3_and_brackets():
    # issue 17: the relative gap was still 3.9e-2 after 30 s (blind HSVI trials); now
    # about 5 s of one core
    _check_default_solve("network")


def test_network_reads_and_its_budget_stop_is_reported():
    from sklearn.exceptions import ConvergenceWarning

    model, b0 = read_pomdp(DATA / "network.POMDP")
    assert model.state_names[-1] == "crash" and model.n_actions == 4
    np.testing.assert_allclose(b0, np.full(7, 1 / 7))  # its start line is a comment
    with pytest.warns(ConvergenceWarning, match="max_time"):
        sol = model.solve(initial_belief=b0, max_time=0.5, open_loop=False)
    assert sol.info["lower"] < sol.info["upper"]
    assert not sol.info["converged"]
    with pytest.raises(ValueError, match="open_loop=True"):
        sol.value(b0, policy="open_loop")

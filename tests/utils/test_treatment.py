"""The treatment contract: one reading of treatment, propensity and control (CONVENTIONS.md)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skcrm.utils import check_propensity, check_treatment, dr_scores


def test_arms_are_sorted_and_coded():
    info = check_treatment(np.array(["Womens", "No E-Mail", "Mens", "Womens"]), control="No E-Mail")
    assert info.actions.tolist() == ["Mens", "No E-Mail", "Womens"]
    assert info.codes.tolist() == [2, 1, 0, 2]
    assert info.control_index == 1 and info.control == "No E-Mail"


def test_control_is_never_guessed_from_sort_order():
    # Hillstrom: the first sorted label is "Mens E-Mail", a treated arm.
    arms = np.array(["Mens E-Mail", "No E-Mail", "Womens E-Mail"])
    info = check_treatment(arms)
    assert info.control_index is None
    with pytest.raises(ValueError, match="control is required"):
        check_treatment(arms, require_control=True)


def test_unknown_control_names_the_arms():
    with pytest.raises(ValueError, match=r"control='0' is not one of the arms \[0, 1\]"):
        check_treatment(np.array([0, 1, 1]), control="0")
    # numpy and python integers are the same label
    assert check_treatment(np.array([0, 1]), control=np.int64(1)).control_index == 1


def test_continuous_dose_is_refused():
    dose = np.round(np.linspace(0.1, 4.0, 40), 2)
    with pytest.raises(ValueError, match="treatment looks continuous"):
        check_treatment(np.repeat(dose, 3))


def test_integral_floats_and_booleans_are_arms():
    assert check_treatment(np.array([0.0, 1.0, 2.0])).actions.tolist() == [0, 1, 2]
    assert check_treatment(np.array([True, False])).actions.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.array(["a", None, "b"], dtype=object), "missing labels"),
        (np.array([0.0, np.nan, 1.0]), "missing or infinite"),
        (np.array(["a", 1, "b"], dtype=object), "mixes label types"),
        (np.array(["a", "a"]), "at least 2"),
        (np.arange(300), "more than 100 arms"),
    ],
)
def test_bad_treatments_raise_naming_the_input(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        check_treatment(bad)


def test_actions_name_arms_absent_from_the_data():
    info = check_treatment(np.array([0, 1]), actions=[0, 1, 2])
    assert info.n_actions == 3
    with pytest.raises(ValueError, match=r"label\(s\) \[3\] not in actions"):
        check_treatment(np.array([0, 3]), actions=[0, 1, 2])


def test_encode_new_labels_and_refuse_unknown_ones():
    info = check_treatment(np.array(["a", "b", "c"]))
    assert info.encode(["c", "a"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"\['z'\] that are not arms"):
        info.encode(["z"])


def test_binary_propensity_score_means_p_treated():
    # EconML/causalml habit: e(X) = P(T=1|X). Today a vector was read as the received arm's
    # probability, giving a DR effect of 3.43 where the truth was 1.0.
    rng = np.random.default_rng(0)
    n = 40_000
    x = rng.normal(size=n)
    e = 1 / (1 + np.exp(-x))
    t = (rng.uniform(size=n) < e).astype(int)
    y = x + 1.0 * t + rng.normal(size=n)
    info = check_treatment(t, control=0)
    p_obs, P = check_propensity(e, info)
    np.testing.assert_allclose(p_obs, np.where(t == 1, e, 1 - e))
    mu = np.zeros((n, 2))  # a useless outcome model: DR = IPW
    G = dr_scores(mu, info.codes, y, p_obs)
    effect = float(np.mean(G[:, 1] - G[:, 0]))
    assert abs(effect - 1.0) < 0.1


def test_vector_propensity_needs_control_and_two_arms():
    with pytest.raises(ValueError, match="control must be named"):
        check_propensity(np.full(3, 0.5), check_treatment(np.array([0, 1, 1])))
    info3 = check_treatment(np.array([0, 1, 2]), control=0)
    with pytest.raises(ValueError, match=r"ambiguous with 3 arms"):
        check_propensity(np.full(3, 1 / 3), info3)


def test_scalar_propensity():
    info = check_treatment(np.array(["c", "t", "t"]), control="c")
    p_obs, P = check_propensity(0.3, info)
    assert p_obs.tolist() == pytest.approx([0.7, 0.3, 0.3])
    info3 = check_treatment(np.array([0, 1, 2]), control=0)
    assert check_propensity(1 / 3, info3)[0] == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError, match="ambiguous with 3 arms"):
        check_propensity(0.5, info3)


def test_dataframe_propensity_is_matched_by_label():
    t = np.array(["b", "a", "c", "a"])
    info = check_treatment(t, control="a")
    P = pd.DataFrame({"a": [0.2, 0.3, 0.4, 0.5], "b": [0.5, 0.5, 0.5, 0.25], "c": 0.0})
    P["c"] = 1 - P["a"] - P["b"]
    shuffled = P[["c", "a", "b"]]
    p1, M1 = check_propensity(P, info)
    p2, M2 = check_propensity(shuffled, info)
    np.testing.assert_array_equal(M1, M2)
    np.testing.assert_allclose(p1, [0.5, 0.3, 0.1, 0.5])
    with pytest.raises(ValueError, match="column 'd' is not an arm"):
        check_propensity(P.rename(columns={"c": "d"}), info)


def test_single_named_column_in_a_two_arm_experiment():
    info = check_treatment(np.array(["ctl", "trt"]), control="ctl")
    p_obs, _ = check_propensity(pd.DataFrame({"trt": [0.25, 0.25]}), info)
    assert p_obs.tolist() == [0.75, 0.25]


def test_dict_propensity_by_label():
    info = check_treatment(np.array(["x", "y", "z"]), control="x")
    p_obs, P = check_propensity({"z": 0.5, "x": 0.25, "y": 0.25}, info)
    assert p_obs.tolist() == [0.25, 0.25, 0.5]
    with pytest.raises(ValueError, match=r"no probability for arm\(s\) \['y'\]"):
        check_propensity({"z": 0.5, "x": 0.5}, info)


def test_matrix_columns_follow_sorted_actions():
    info = check_treatment(np.array([2, 0, 1]), control=0)
    M = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])
    p_obs, _ = check_propensity(M, info)
    assert p_obs.tolist() == [0.7, 0.5, 0.3]
    with pytest.raises(ValueError, match="rows must sum to 1"):
        check_propensity(M * 0.5, info)
    with pytest.raises(ValueError, match=r"shape \(n, K\) = \(3, 3\)"):
        check_propensity(M[:, :2], info)


def test_positivity_and_clipping():
    info = check_treatment(np.array([0, 1]), control=0)
    with pytest.raises(ValueError, match="probability 0 to the arm"):
        check_propensity(np.array([0.0, 0.0]), info)
    with pytest.warns(UserWarning, match="clipped") as rec:
        p_obs, _ = check_propensity(np.array([0.5, 0.001]), info, min_propensity=0.01)
    assert p_obs.tolist() == [0.5, 0.01]
    assert rec[0].filename == __file__


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["u", "v", "w"]), min_size=6, max_size=30),
    st.randoms(use_true_random=False),
)
def test_relabelling_and_permuting_change_nothing(labels, rnd):
    t = np.array(labels)
    if np.unique(t).size < 2:
        return
    n = t.size
    rng = np.random.default_rng(rnd.randint(0, 10_000))
    raw = rng.dirichlet(np.ones(3), size=n)
    frame = pd.DataFrame(raw, columns=["u", "v", "w"])
    actions = ["u", "v", "w"]
    info = check_treatment(t, actions=actions, control="u")
    p_obs, _ = check_propensity(frame, info)
    # integer relabelling: u->2, v->0, w->1 (a different sort order)
    mapping = {"u": 2, "v": 0, "w": 1}
    t2 = np.array([mapping[v] for v in labels])
    info2 = check_treatment(t2, actions=[0, 1, 2], control=2)
    p2, _ = check_propensity(frame.rename(columns=mapping), info2)
    np.testing.assert_array_equal(p_obs, p2)
    # permuted rows
    perm = rng.permutation(n)
    info3 = check_treatment(t[perm], actions=actions, control="u")
    p3, _ = check_propensity(frame.iloc[perm].reset_index(drop=True), info3)
    np.testing.assert_array_equal(p3, p_obs[perm])

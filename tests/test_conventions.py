"""One name per meaning across every public estimator (../CONVENTIONS.md).

Walks every registered estimator's ``get_params()`` and fitted attributes: each name must be
in the allowed vocabulary below (a new name is a decision, made here, not by accident), none
may be a retired synonym, every parameter after the first few model objects is keyword-only,
and every fitted attribute is documented under Attributes.
"""

from __future__ import annotations

import inspect
import re

import pytest
from sklearn.base import clone

from tests._registry import collect_entries

ENTRIES = collect_entries()

# The vocabulary: every parameter of a public estimator and every fitted attribute of a
# registered one. A new name is a decision made here (is it a synonym of one below?).
ALLOWED_PARAMETERS = frozenset(
    {
        "action_col",
        "action_costs",
        "action_effects",
        "action_features",
        "actions",
        "activation",
        "alpha",
        "alpha_prior_scale",
        "attribute_cols",
        "batch_size",
        "beta_prior_scale",
        "bts_floor",
        "budget",
        "campaign_budgets",
        "capacities",
        "categories",
        "control",
        "cov_scale",
        "covariate_cols",
        "customer_col",
        "customer_encoder",
        "cutpoint_anchor",
        "cutpoint_concentration",
        "cv",
        "discount",
        "dnorm_d",
        "dnorm_matrix",
        "drop_after_observation_end",
        "dropout_after_first",
        "dropout_mixing",
        "dynamic_cols",
        "dynamic_terms",
        "early_stopping",
        "emission_model",
        "encode_firm_period",
        "estimator",
        "firm_col",
        "firm_encoder",
        "firm_inference",
        "first_transaction_effect",
        "frequency_col",
        "future_attributes",
        "gamma",
        "hidden_layer_sizes",
        "horizon",
        "horizons",
        "include_covariates",
        "index_input",
        "initial_params",
        "initial_state",
        "integer",
        "interval_method",
        "kpi",
        "kpi_hidden_layer_sizes",
        "learning_rate",
        "local_inference",
        "max_cell",
        "max_depth",
        "max_iter",
        "max_treated_fraction",
        "method",
        "min_propensity",
        "min_samples_leaf",
        "min_segment_size",
        "missing_indicator",
        "missing_values",
        "monetary_value_col",
        "n_belief_points",
        "n_bins",
        "n_bootstrap",
        "n_categories",
        "n_firm_factors",
        "n_future_sims",
        "n_init",
        "n_iter_no_change",
        "n_jobs",
        "n_per_segment",
        "n_posterior_samples",
        "n_quadrature",
        "n_scenarios",
        "n_score_scenarios",
        "n_segments",
        "n_states",
        "net_of_cost",
        "nominal_estimate",
        "num_chains",
        "num_samples",
        "num_warmup",
        "observation_end",
        "origin",
        "outcome_col",
        "outcome_levels",
        "outcome_model",
        "outcome_per_action",
        "outcome_values",
        "penalizer",
        "policy",
        "policy_features",
        "policy_model",
        "posterior_indexing",
        "predict_statistic",
        "propensity_model",
        "pseudo_count",
        "random_state",
        "reduction",
        "revenue",
        "reverse_targets",
        "rfm_cols",
        "risk_aversion",
        "score_baseline",
        "score_metric",
        "score_tail_fraction",
        "segment_col",
        "segment_sizes",
        "segmentation",
        "solver",
        "solver_max_iter",
        "solver_options",
        "solver_tol",
        "split_search",
        "standardize",
        "static_cols",
        "strategic_features",
        "surrogate_cols",
        "surrogate_index",
        "tail_fraction",
        "target_offsets",
        "theta",
        "time_col",
        "time_freq",
        "time_unit",
        "tol",
        "transition_model",
        "twin_noise",
        "uncertainty",
        "uplift_model",
        "validation_fraction",
        "verbose",
        "weight_decay",
    }
)
ALLOWED_ATTRIBUTES = frozenset(
    {
        "action_costs_",
        "action_feature_matrix_",
        "actions_",
        "affinity_scale_",
        "aic_",
        "allocation_",
        "alpha_",
        "alpha_actions_",
        "alpha_stages_",
        "alpha_stages_open_loop_",
        "alpha_vectors_",
        "alpha_vectors_open_loop_",
        "assignment_rate_",
        "belief_points_",
        "best_validation_loss_",
        "beta_",
        "bic_",
        "bootstrap_policies_",
        "budget_used_",
        "campaigns_",
        "categories_",
        "cell_counts_",
        "classes_",
        "coef_",
        "coef_names_",
        "columns_",
        "control_",
        "control_index_",
        "converged_",
        "cov_scale_factor_",
        "covariance_",
        "covariate_idx_",
        "covariate_mean_",
        "covariate_names_",
        "covariate_patterns_",
        "cutpoints_",
        "design_feature_names_",
        "dr_scores_",
        "emission_intercepts_",
        "emission_scale_",
        "emissionprob_",
        "encoder_params_",
        "epoch_times_",
        "estimator_",
        "estimators_",
        "expected_profit_",
        "feature_importances_",
        "feature_max_",
        "feature_mean_",
        "feature_min_",
        "feature_names_in_",
        "feature_scale_",
        "firms_",
        "fit_time_",
        "fold_indices_",
        "horizon_names_",
        "impute_values_",
        "input_form_",
        "kpi_",
        "kpi_encoder_params_",
        "kpi_mean_",
        "kpi_scale_",
        "lift_cov_",
        "lift_hat_",
        "lift_lower_",
        "lift_scenarios_",
        "lift_upper_",
        "loadings_",
        "log_likelihood_",
        "log_likelihood_history_",
        "loss_curve_",
        "mdp_values_",
        "mean_repeat_q_",
        "missing_indicator_features_",
        "mu_hat_",
        "n_actions_",
        "n_campaigns_",
        "n_categories_",
        "n_customers_",
        "n_encoder_inputs_",
        "n_features_in_",
        "n_firms_",
        "n_iter_",
        "n_outcomes_",
        "n_outputs_",
        "n_params_",
        "n_periods_",
        "n_segments_",
        "n_splits_",
        "n_train_samples_",
        "n_transactions_",
        "observation_end_",
        "oof_predictions_",
        "oof_r2_",
        "optimizer_message_",
        "origin_",
        "outcome_levels_",
        "outcome_model_",
        "outcome_models_",
        "outcome_type_",
        "outcome_values_",
        "pairwise_models_",
        "params_",
        "pattern_solutions_",
        "periods_",
        "phi_",
        "phi_prior_rate_",
        "phi_prior_shape_",
        "policy_",
        "policy_feature_names_",
        "policy_features_",
        "policy_model_",
        "profit_sd_",
        "propensity_",
        "random_seed_",
        "raw_segment_labels_",
        "reduction_",
        "revenue_",
        "reward_",
        "robust_objective_",
        "segment_map_",
        "segment_sizes_",
        "segmenter_",
        "segments_",
        "solver_info_",
        "solver_n_iter_",
        "solver_name_",
        "solver_residual_",
        "solver_status_",
        "standard_errors_",
        "startprob_",
        "state_order_",
        "support_bounds_",
        "surrogate_idx_",
        "surrogate_index_",
        "target_offsets_",
        "target_offsets_validation_loss_",
        "train_value_",
        "transmat_",
        "tree_",
        "uplift_models_",
        "validation_loss_curve_",
        "value_at_start_",
        "value_cov_factor_",
        "value_hat_",
        "value_lower_",
        "value_scenarios_",
        "variational_params_",
        "vol_at_start_",
        "worst_case_profit_",
        "y_mean_",
        "y_std_",
        "y_tilde_",
    }
)

# name -> the word CONVENTIONS.md uses for the same meaning
RETIRED = {
    "id_col": "customer_col",
    "period_col": "time_col",
    "control_label": "control",
    "control_label_": "control_",
    "treatments_": "actions_",
    "n_treatments_": "actions_",
    "costs": "action_costs",
    "costs_": "action_costs_",
    "n_folds": "cv",
    "gtol": "tol",
    "max_epochs": "max_iter",
    "loglik_": "log_likelihood_",
    "coef_se_": "standard_errors_",
    "confidence_level": "alpha",
    "base_estimator": "estimator",
    "n_folds_": "n_splits_",
    "n_prediction_draws": "n_posterior_samples",
}
# Every public estimator has these (CONVENTIONS.md, "Words").
REQUIRED = ("n_jobs", "verbose", "random_state")
# Model objects that may stay positional, before the ``*``.
MAX_POSITIONAL = 3


def _public_fitted_attributes(est):
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))


def _documented_attributes(cls):
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Attributes\n-+\n(.*?)(?:^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    if not match:
        return set()
    names = set()
    for line in match.group(1).splitlines():  # unindented lines name attributes
        if line and not line[0].isspace():
            names.update(n.strip() for n in line.split(" : ")[0].split(","))
    return names


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_parameters_use_the_conventions_words(entry):
    names = set(entry.estimator.get_params(deep=False))
    retired = {n: RETIRED[n] for n in names & set(RETIRED)}
    assert not retired, f"{entry.name}: rename {retired}"
    new = sorted(names - ALLOWED_PARAMETERS)
    assert not new, f"{entry.name}: new parameter names {new}: add them to the vocabulary"
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, f"{entry.name}: missing {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_parameters_are_keyword_only(entry):
    sig = inspect.signature(type(entry.estimator).__init__)
    positional = [
        p.name for p in list(sig.parameters.values())[1:] if p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    assert len(positional) <= MAX_POSITIONAL, f"{entry.name}: positional {positional}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_fitted_attributes_use_the_conventions_words_and_are_documented(entry):
    est = entry.data().fit(clone(entry.estimator))
    attrs = _public_fitted_attributes(est)
    retired = {a: RETIRED[a] for a in attrs if a in RETIRED}
    assert not retired, f"{entry.name}: rename {retired}"
    new = sorted(set(attrs) - ALLOWED_ATTRIBUTES)
    assert not new, f"{entry.name}: new fitted attribute names {new}: add them to the vocabulary"
    undocumented = sorted(set(attrs) - _documented_attributes(type(est)))
    assert not undocumented, f"{entry.name}: document {undocumented} under Attributes"


def _public_estimators():
    import importlib

    from sklearn.base import BaseEstimator

    found = {}
    for method in ("clv", "surrogate", "policy", "pomdp", "twin", "allocation", "design"):
        module = importlib.import_module(f"skcrm.{method}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return found


@pytest.mark.parametrize("cls", list(_public_estimators().values()), ids=list(_public_estimators()))
def test_every_public_estimator_speaks_the_vocabulary(cls):
    """Estimators outside the registry too (ParetoNBD, PolicyTreeClassifier...)."""
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert not names & set(RETIRED), sorted(names & set(RETIRED))
    assert not names - ALLOWED_PARAMETERS, sorted(names - ALLOWED_PARAMETERS)
    assert all(n in names for n in REQUIRED), [n for n in REQUIRED if n not in names]
    positional = [
        p.name
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    assert len(positional) <= MAX_POSITIONAL, positional

"""Mutation testing of the money, analysis and dataset code and the scenario readers (mutmut).

Too slow for CI (each mutant re-runs the tests that reach the mutated function). Each module is
mutated in a throw-away copy of the repository with its own ``[tool.mutmut]`` section, against
the test files that exercise it, under a time budget; a module whose budget runs out is recorded
with the mutants it did check. The result is ``benchmarks/results/mutation.json``: for each
module the counts by status, the killed share, and every surviving mutant with its diff and,
where one is written in ``EQUIVALENT`` below, why it is equivalent (no test can tell it apart).

Run (from the repository root, with ``pip install -e .[mutation]``)::

    python benchmarks/bench_mutation.py                          # every module, default budget
    python benchmarks/bench_mutation.py --modules money/pricing.py money/payment_ledger.py \\
        --budget 1200 --jobs 2

The killed share counts killed, timed-out and type-check-caught mutants as killed; "no tests"
mutants (code no selected test reaches), "terminated" and "suspicious" ones (the test run ended
with an exit status mutmut does not know, recorded as ``exit_code``) count as survivors.
Hypothesis runs with the ``mutation`` profile of tests/conftest.py: the same examples, no
shrinking (a failing test that shrinks for minutes was terminated, and not counted as a
kill). The target is >= 90% killed.

A module too large to check in one sitting can be sampled (``--sample N``): all its mutants are
generated, a uniform random sample of N of them (drawn with ``--sample-seed``, fixed by default,
so the same sample is drawn again for the same source) is checked, and the module's entry says
``"sampled": true`` with the killed share of the sample and its 95% confidence interval (Wilson
score interval of a binomial proportion). The overall figures keep the modules checked in full
(``exhaustive``) apart from the sampled ones (``sampled``), and estimate the killed share over
all mutants of the sampled modules by stratified sampling (each module weighted by its number
of mutants)::

    python benchmarks/bench_mutation.py --merge --sample 40 --modules analysis/summary.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mutation.json"
#: mutmut's per-module verdicts (its ``.meta`` files), kept between runs for ``--resume``
STATE = ROOT / "benchmarks" / ".mutation-state"

#: Modules (under src/sibsim/) and the test files that exercise them (a file, or one test of
#: it as ``file::name``, where the rest of the file is slow and does not reach the module;
#: an entry starting with "-" is a pytest option, such as ``--deselect`` of a slow test that
#: other tests of the subset cover for the module).
MODULES: dict[str, list[str]] = {
    "money/pricing.py": ["test_payments.py", "test_reference_payments.py",
                         "test_price_ceiling.py"],
    "money/payment_ledger.py": ["test_payments.py", "test_reference_payments.py",
                                "test_rate_cards.py"],
    "money/contract.py": ["test_payments.py", "test_reference_payments.py", "test_rate_cards.py",
                          "test_roundtrip.py"],
    "money/ratecard.py": ["test_rate_cards.py", "test_roundtrip.py"],
    "money/results.py": ["test_results_edges.py", "test_payments.py", "test_rate_cards.py",
                         "test_sib_pipeline.py", "test_fresh_sample_edges.py"],
    "money/capital.py": ["test_capital.py", "test_roundtrip.py"],
    "money/cashflows.py": ["test_capital.py", "test_sib_pipeline.py"],
    "money/payers.py": ["test_payers_edges.py", "test_payer_scope.py", "test_payers.py",
                        "test_roundtrip.py",
                        # payers by entry wave: each wave's payments split by hand
                        "test_payer_waves.py::"
                        "test_a_run_pays_each_wave_by_its_payers_and_keeps_the_totals"],
    "money/municipality.py": ["test_municipality_edges.py", "test_municipality.py",
                              "test_payers_edges.py", "test_sib_pipeline.py"],
    "money/evaluation.py": ["test_evaluation_refusals.py", "test_evaluation_by_hand.py",
                            "test_evaluation_edges.py", "test_evaluation.py",
                            "test_strata_entry.py", "test_multi_process.py",
                            "test_money_fast.py", "test_silent.py", "test_roundtrip.py",
                            "--deselect=tests/test_multi_process.py::"
                            "test_thread_count_does_not_change_multi_process_results"],
    "money/deal.py": ["test_deal_edges.py", "test_deal.py", "test_sib_pipeline.py",
                      "test_payers_edges.py", "test_payer_scope.py", "test_payers.py",
                      "test_roundtrip.py",
                      "--deselect=tests/test_payers.py::"
                      "test_a_scenario_file_payer_may_pay_the_rate_cards",
                      "--deselect=tests/test_payers.py::test_report_has_one_line_per_payer"],
    "money/sib.py": ["test_sib_memo_and_states.py",
                     "test_sib_labels_and_caches.py", "test_sib_service_states.py",
                     "test_cancellation_boundaries.py",
                     "test_stratum_end_boundaries.py", "test_sib_edges.py",
                     "test_fresh_sample_2_edges.py", "test_sib_pipeline.py",
                     "test_money_fast.py",
                     "test_payer_scope.py", "test_payers_edges.py", "test_breakeven_fast.py",
                     "test_costs_follow_people.py", "test_multi_process.py",
                     "--deselect=tests/test_multi_process.py::"
                     "test_thread_count_does_not_change_multi_process_results"],
    "money/scenario_sections.py": ["test_scenario_sections_edges.py", "test_scenario_file.py",
                                   "test_fresh_sample_2_edges.py",
                                   "test_roundtrip.py", "test_fuzz_toml.py",
                                   "--deselect=tests/test_scenario_file.py::"
                                   "test_round_trip_each_outcome_kind"],
    "scenario_file.py": ["test_scenario_file_edges.py", "test_scenario_file.py",
                         "test_roundtrip.py", "test_fuzz_toml.py",
                         # the file's calendar (start_year, period, start_period, horizon)
                         # turning calendar years into periods, one [[outcome]]'s effect too
                         "test_effect_by_stratum.py::"
                         "test_calendar_years_become_the_years_first_period",
                         "test_effect_by_stratum.py::"
                         "test_quarterly_year_beginning_after_the_horizon_is_refused",
                         "test_effect_by_stratum.py::"
                         "test_bad_files_exit_2_with_one_line_naming_the_key",
                         "test_effect_by_stratum.py::"
                         "test_several_processes_each_with_its_own_variation",
                         "--deselect=tests/test_scenario_file.py::"
                         "test_round_trip_each_outcome_kind"],
    "analysis/breakeven.py": ["test_breakeven_edges.py", "test_breakeven_fast.py",
                              "test_breakeven.py"],
    "analysis/metrics.py": ["test_metrics.py"],
    "analysis/summary.py": ["test_summary_edges.py", "test_metrics.py",
                            "test_fresh_sample_2_edges.py"],
    "dataset/io.py": ["test_io_edges.py", "test_io.py"],
    "money/termination.py": ["test_termination_boundaries.py", "test_cancellation_boundaries.py",
                             "test_stratum_end_boundaries.py", "test_payer_waves.py",
                             "test_termination_edges.py", "test_lifecycle.py",
                             "test_sib_pipeline.py", "test_roundtrip.py",
                             "test_fresh_sample_edges.py"],
    "money/payer_scope.py": ["test_payer_scope_edges.py", "test_payer_scope.py",
                             "test_payers_edges.py", "test_fresh_sample_edges.py"],
    "money/uncertain.py": ["test_uncertain_edges.py", "test_uncertain_money.py",
                           "test_payers_edges.py", "test_roundtrip.py",
                           "test_fresh_sample_edges.py"],
    "money/irr.py": ["test_irr_edges.py", "test_irr.py", "test_sib_pipeline.py",
                     "test_fresh_sample_edges.py"],
    "money/cancellation.py": ["test_cancellation_boundaries.py", "test_cancellation.py",
                              "test_termination_edges.py", "test_lifecycle.py",
                              "test_fresh_sample_2_edges.py"],
    "money/payer_waves.py": ["test_payer_waves_boundaries.py", "test_payer_waves.py",
                             "test_payers_edges.py", "test_fresh_sample_2_edges.py"],
    "money/stratum_end.py": ["test_stratum_end_boundaries.py", "test_stratum_end.py"],
    "money/estimand.py": ["test_estimand_boundaries.py", "test_estimand.py"],
    "money/money_metric.py": ["test_money_metric_boundaries.py", "test_money_metric.py"],
    "analysis/budget.py": ["test_budget_definitions.py", "test_budget_edges.py", "test_budget.py",
                           "test_fund_budget.py", "test_budget_quantiles.py"],
    "analysis/threads.py": ["test_threads.py"],
    "analysis/blocks.py": ["test_blocks_edges.py",
                           "test_blocks.py::test_drawsum_does_not_depend_on_the_blocks",
                           "test_blocks.py::test_drawassembler_refuses_gaps_and_overlaps",
                           "test_blocks.py::test_money_of_a_block_is_that_slice_of_the_whole_money"],
    "analysis/design.py": ["test_design_describe.py", "test_design_outputs.py",
                           "test_design_evaluations_vary.py", "test_design_definitions.py",
                           "test_design_edges.py", "test_design.py"],
    "dataset/build.py": ["test_build_edges.py", "test_io.py", "test_multi_process.py",
                         "test_fresh_sample_2_edges.py",
                         "--deselect=tests/test_multi_process.py::"
                         "test_thread_count_does_not_change_multi_process_results"],
    "dataset/schema.py": ["test_schema_edges.py",
                          "test_evaluation_edges.py::"
                          "test_the_money_chain_reads_a_transposed_outcome_dataset_as_the_usual_one"],
    # analysis modules first mutated 11-29 (mutanalysis): slow tests that other tests of the
    # subset cover for the module are deselected
    "analysis/voi.py": ["test_voi_edges.py", "test_voi_definitions.py", "test_voi.py",
                        "--deselect=tests/test_voi.py::test_value_of_information_of_peterborough",
                        "--deselect=tests/test_voi.py::test_cli_value_of_information"],
    "analysis/power.py": ["test_power_definitions.py", "test_estimand.py", "test_money_metric.py",
                          "test_silent.py::test_power_by_hand_threshold_only",
                          "test_silent.py::test_power_by_hand_with_the_significance_gate",
                          "test_silent.py::test_paying_threshold_of_rules_and_rounding",
                          "test_silent.py::test_power_is_monotone_in_the_group_sizes_with_a_gate",
                          "test_silent.py::test_power_agrees_with_simulated_share_of_triggers_paid",
                          "test_silent.py::test_small_sample_warns_in_analyse_and_describe",
                          "test_silent.py::test_threshold_above_the_expected_effect_is_not_a_small_"
                          "sample"],
    "analysis/evaluation_design.py": ["test_evaluation_design_edges.py",
                                      "test_evaluation_design.py"],
    "analysis/replay.py": ["test_replay_edges.py", "test_replay.py",
                           "test_stratum_end.py::test_replays_keep_a_certain_end_and_drop_a_risk",
                           "test_money_metric.py::"
                           "test_replay_values_savings_on_the_outcome_units_of_a_money_metric",
                           "test_contract_targets.py::"
                           "test_tyhy_replay_checks_the_absolute_target_on_the_replayed_result",
                           "test_estimand.py::"
                           "test_a_replayed_effect_on_the_treated_implies_the_enrolled_units",
                           "test_cancellation.py::test_replays_run_what_happened",
                           "--deselect=tests/test_replay.py::"
                           "test_utah_cohort_1_pays_95_percent_of_avoided_cost"],
    "analysis/sensitivity/tornado.py": ["test_sensitivity_definitions.py", "test_sensitivity.py"],
    "analysis/sensitivity/given_data.py": ["test_sensitivity_definitions.py",
                                           "test_sensitivity.py"],
    "analysis/sensitivity/sobol.py": ["test_sensitivity_definitions.py", "test_sensitivity.py"],
    "analysis/sensitivity/discovery.py": ["test_sensitivity_definitions.py",
                                          "test_sensitivity.py"],
    "analysis/sensitivity/_common.py": ["test_sensitivity_definitions.py", "test_sensitivity.py"],
    "design_file.py": ["test_design_file_edges.py",
                       "test_design.py::test_cli_design_with_a_design_file_for_a_builtin",
                       "test_design.py::test_cli_design_bad_input_exits_2",
                       "test_design.py::test_cli_design_file_with_other_tables_is_refused",
                       "test_design.py::test_load_design_of_an_outcome_only_or_missing_file",
                       "test_design.py::test_module_doctests"],
}

#: Why a module's run is as it is (slow tests in its subset, a budget that ran out, ...).
NOTES: dict[str, str] = {
    "money/evaluation.py":
        ("1,502 mutants: more than one 10-minute budget checks; runs are resumed (--resume) "
         "and the survivors of a run with fewer test files were run again with these. "
         "test_multi_process's thread-count test (15 s, the same results under 1 and 2 "
         "threads) is deselected: the other tests of the file reach the same code. "
         "x__treated_units__mutmut_86 (an output array of the wrong shape) ends the test run "
         "with an out-of-bounds write in the numba kernel: caught, but by a crash that mutmut "
         "counts as 'suspicious'"),
    "money/sib.py":
        ("1,051 mutants: more than one 10-minute budget checks; runs are resumed (--resume). "
         "test_multi_process's thread-count test is deselected (see money/evaluation.py). "
         "mutmut runs, for a mutant, only the tests during which the mutated function ran, "
         "and the work of a module-scoped fixture is counted for the first test that used it "
         "alone: a check of a fixture's money in a later test does not count (a survivor of "
         "sample 1617, _true_effect, was checked so in test_sib_pipeline.py); "
         "test_sib_memo_and_states.py computes what it checks inside each test"),
    "money/deal.py":
        ("two report tests of test_payers.py (8-13 s each: a scenario file's payers and the "
         "report's lines) are deselected; Deal's checks run in every other test of the subset"),
    "money/scenario_sections.py":
        ("test_scenario_file.py's round trip of each outcome kind (up to 100 s) is "
         "deselected: it reads outcome-only files, which have no money tables"),
    "scenario_file.py":
        ("test_scenario_file.py's round trip of each outcome kind (up to 100 s) is deselected: "
         "the other files of the subset read and write every kind of table the reader reaches. "
         "A sample of 40 (11-29) ran out of its 900 s budget after 8 mutants, on cores shared "
         "with other runs (load 12 on 2 cores): a mutant the first tests do not kill re-runs "
         "test_fuzz_toml.py and test_roundtrip.py. mutmut runs the fastest mutants first, so "
         "those 8 are not a uniform sample; test_scenario_file_edges.py was written after it. "
         "The same sample seed run again whole (11-29, stop 19, at fe7d75d: 459 mutants since "
         "the calendar rule moved into _calendar; --sample 40 --jobs 1 --budget 5000, 672 s): "
         "36 of 40 killed. 3 of its 4 survivors (_calendar's start_period and horizon, and "
         "_processes' effect calendar) are killed by test_effect_by_stratum.py's calendar "
         "tests, which were not in the subset (now added; each checked by planting the "
         "mutation); the 4th is equivalent"),
    "analysis/budget.py":
        ("a sample of 40 (11-29) ran out of its 600 s budget after 26 mutants on cores shared "
         "with other runs; mutmut runs the fastest mutants first, so the 26 lean to the fast "
         "ones. test_budget_edges.py was written after it. Its 4 'timeout' verdicts may be "
         "the tests passing mutmut's wall-clock limit under load rather than kills (fresh "
         "sample 2's budget sample had 11, among them a change of a description's case)"),
    "analysis/design.py":
        ("2,227 mutants; a sample of 40 (11-29) ran out of its 600 s budget after 17 on cores "
         "shared with other runs (a mutant the first tests do not kill re-runs most of "
         "test_design.py); mutmut runs the fastest mutants first, so the 17 are not a uniform "
         "sample. Of its 8 survivors, 7 have a test in test_design_edges.py, written after "
         "it; a mutmut recheck (--recheck, 11-29, 423 s) killed all 7, and the one left is "
         "equivalent. Session 17 (benchmarks/results/mutation-design-voi.json): a sample of 40 "
         "(seed 6601) had 34 killed; with test_design_describe.py (the texts on hand-made "
         "results), test_design_outputs.py (every label and value of design, evaluate_variants "
         "and compare) and test_design_evaluations_vary.py in front, 40 of the same 40, and 39 "
         "of a fresh 40 (seed 6611; the one left is equivalent)"),
    "analysis/voi.py":
        ("Session 17 (benchmarks/results/mutation-design-voi.json): a sample of 40 (seed 6602) "
         "had 32 killed; with test_voi_edges.py in front, 40 of the same 40, and 38 of a fresh "
         "40 (seed 6612), whose 2 survivors have tests written after it"),
    "analysis/blocks.py":
        ("test_blocks.py takes 400 s on 2 shared cores (whole analyses run in blocks and in one "
         "pass, on every scenario): only its tests of DrawSum and DrawAssembler themselves and "
         "one money test are in the subset, with test_blocks_edges.py"),
}

#: Surviving mutants that no test can tell apart from the original, with the reason. Keyed by
#: mutmut's mutant name; listed in the results file next to the survivor.
EQUIVALENT: dict[str, str] = {
    # survivors of fresh sample 6 (benchmarks/mutation_pps.py, seed 1929)
    "sibsim.money.payers.x_split_by_payer__mutmut_110":
        ("the contract's total without dtype=float64 before the caps kernel: the library "
         "builds it in float64 (payment_ledger: sum_axis1, result_type with float64), so "
         "ascontiguousarray returns the same array; a total built by hand in integers or "
         "float32 enters the kernel's float64 arithmetic (pay - short, the stored total) by "
         "the same exact conversion"),
    "sibsim.analysis.breakeven.x__crossing__mutmut_47":
        ("the last negative grid index of a draw with no negative value, -2 instead of -1: "
         "such a draw has has = False and start_ok = True, so its result is xs[0] whatever "
         "'last' holds, and np.clip puts j at 0 for -1 and -2 alike"),
    "sibsim.analysis.breakeven.x__crossing__mutmut_95":
        ("the interpolation weight is never above 1 where it is used: there f0 < 0 <= f1, so "
         "w = -f0 / (f1 - f0) = |f0| / (f1 + |f0|) <= 1 in floating point too (rounding is "
         "monotone and f1 + |f0| >= |f0|), NaN stays NaN, and rows without a crossing are "
         "replaced by NaN or xs[0]"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__init____mutmut_187":
        ("no division by zero can happen under that errstate: the denominator is "
         "np.where(exp > 0, exp, 1.0), positive or 1.0 (NaN included), so only 'invalid' "
         "(NaN or inf operands) ever needed silencing"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ_expected__mutmut_70":
        ("a small trace's kernel on all numba threads instead of one: each draw's trace is "
         "computed alone, so the numbers are the same on any number of threads (as "
         "__init____mutmut_126; tests/test_multi_process.py::test_thread_count_does_not_"
         "change_multi_process_results)"),
    # survivors of the fresh two-stage sample of stop 17 (benchmarks/mutation_pps.py, seed 1718)
    "sibsim.money.cancellation.x_apply_cancellation__mutmut_114":
        "the 'due' flags made float instead of bool: they are read only by np.flatnonzero, "
        "which picks the same positions from 1.0/0.0 as from True/False",
    "sibsim.money.cancellation.x_apply_cancellation__mutmut_94":
        "only the label of a role: roles are compared with 'planned' and 'after' alone, so any "
        "other string for the cohorts that ran does the same",
    "sibsim.money.cancellation.xǁCancellationǁsettle_at__mutmut_6":
        "copy=False writes the stop's settlement into the array given, which the only caller "
        "(termination.lifecycle) made for this call and replaces by the returned one at once",
    "sibsim.money.sib.x_money_arrays__mutmut_210":
        "computes the lifecycle's memo key when there is no memo too: without a memo the key "
        "is never read (_last_lifecycle and _keep_lifecycle return at once)",
    "sibsim.analysis.replay.x__summary__mutmut_241":
        "describe=None instead of False: _label_money_units reads it only as 'if describe:'",
    "sibsim.analysis.replay.x_first_cohorts__mutmut_21":
        "size=None beside the entry: Cohort then takes its size from the entry, sum(entry), "
        "the value the line gave",
    "sibsim.analysis.sensitivity.tornado.x_tornado__mutmut_100":
        "the ends' array without dtype=float: whole-number ends give the same outputs and float "
        "input values (tests/test_sensitivity_definitions.py::"
        "test_tornado_defaults_and_whole_number_ranges)",
    "sibsim.money.sib.x_money_arrays__mutmut_457":
        "the memo key of the savings' sums made None: no other entry of that memo uses None, "
        "so it keys them as uniquely (and the value is tied to the savings it adds up)",
    # survivors of the fresh two-stage sample of 11-29 (benchmarks/mutation_pps.py, seed 1616)
    "sibsim.analysis.replay.x_load_replays__mutmut_10":
        "'UTF-8' and 'utf-8' name the same codec",
    "sibsim.money.sib.x_money_arrays__mutmut_266":
        "only the label of a memo key: ('ENTRY_PERIOD',) keys the entry as uniquely as "
        "('entry_period',) (no other key of the memo uses either)",
    "sibsim.money.sib.x_money_arrays__mutmut_492":
        "without the memo the true effects are read from the dataset again: the same values, "
        "only the time differs",
    "sibsim.money.sib.x_money_arrays__mutmut_639":
        "table.period is a tuple of Python ints, which numpy 2 turns into int64 on every "
        "platform: the dtype given is the default",
    "sibsim.analysis.design.x_evaluate_variants__mutmut_125":
        "without the shared evaluation table money_arrays measures the variant's evaluations "
        "again, on the same draws and seed: the same table, only the time differs",
    "sibsim.analysis.design.x__per_draw__mutmut_9":
        "astype(None) is astype(float64): numpy reads a dtype of None as its default float64",
    "sibsim.analysis.design.x_describe_comparison__mutmut_109":
        ("zip without strict=True: every row of describe_comparison's table is built with the "
         "header's length (a label, the first option's value, then a value and a difference per "
         "other option) and widths has one entry per header column, so r[1:] and widths[1:] "
         "always have the same length and strict never raises"),
    "sibsim.money.pricing.x__broadcast__mutmut_3":
        ("every rule promotes the arrays to float64 itself (np.maximum with 0.0, a float price "
         "or threshold), so integer input gives the same amounts"),
    "sibsim.money.pricing.x__broadcast__mutmut_5":
        ("every rule promotes the arrays to float64 itself (np.maximum with 0.0, a float price "
         "or threshold), so integer input gives the same amounts"),
    "sibsim.money.payment_ledger.x__trigger_due__mutmut_6":
        "every pricing rule already returns float64",
    "sibsim.money.payment_ledger.x__trigger_due__mutmut_8":
        "every pricing rule already returns float64",
    "sibsim.money.payment_ledger.x_compute_payments__mutmut_29":
        "rate cards sort after triggers with any code above 0",
    "sibsim.money.payment_ledger.x_compute_payments__mutmut_33":
        ("the sort key (period, kind) is stable and the items are listed in (index) order within"
         " it, so sorting by the whole tuple gives the same order"),
    "sibsim.money.payment_ledger.x_compute_payments__mutmut_35":
        ("the sort key (period, kind) is stable and the items are listed in (index) order within"
         " it, so sorting by the whole tuple gives the same order"),
    "sibsim.money.payment_ledger.x_compute_payments__mutmut_37":
        ("the sort key (period, kind) is stable and the items are listed in (index) order within"
         " it, so sorting by the whole tuple gives the same order"),
    "sibsim.money.payment_ledger.xǁPaymentLedgerǁ__init____mutmut_18":
        "PaymentLedger.n_periods is never read",
    "sibsim.money.pricing.x__read_tiers__mutmut_20":
        ("lists are left as lists instead of tuples; the _Tier check accepts any sequence and "
         "stores a tuple"),
    "sibsim.money.pricing.xǁPricingRuleǁdue__mutmut_1":
        "a default of the abstract base's due, which only raises NotImplementedError",
    "sibsim.money.pricing.xǁPricingRuleǁdue__mutmut_2":
        "a default of the abstract base's due, which only raises NotImplementedError",
    "sibsim.money.pricing.xǁPricingRuleǁdue__mutmut_3":
        "a default of the abstract base's due, which only raises NotImplementedError",
    "sibsim.money.pricing.xǁPricePerUnitǁdue__mutmut_2":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁPricePerUnitǁdue__mutmut_3":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁStepScheduleǁdue__mutmut_1":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁStepScheduleǁdue__mutmut_2":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁStepScheduleǁdue__mutmut_3":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁLinearFloorCapǁdue__mutmut_1":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁLinearFloorCapǁdue__mutmut_2":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁLinearFloorCapǁdue__mutmut_3":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁSavingsShareǁdue__mutmut_1":
        "a default of an argument this rule does not use (only its shape is broadcast)",
    "sibsim.money.pricing.xǁPricePerUnitǁdue__mutmut_22":
        ("at effect == ceiling the scaled amount is amount x ceiling / ceiling = amount exactly "
         "(x / x == 1 in IEEE arithmetic)"),
    "sibsim.money.pricing.xǁPricePerUnitǁdue__mutmut_38":
        ("the placeholder divisor of draws not over the ceiling; their scaled amount is "
         "discarded by the outer np.where"),
    "sibsim.money.pricing.xǁLinearFloorCapǁdue__mutmut_15":
        "the fraction is below 0 only where effect < floor_effect, where the outer np.where pays 0",
    "sibsim.money.capital.x__read_guarantee__mutmut_47":
        ("the stack level only picks which frame inside sibsim the deprecation warning is "
         "attributed to (the generic TOML reader, or capital.py); its category and text are "
         "tested"),
    "sibsim.money.capital.x__read_guarantee__mutmut_51":
        ("the stack level only picks which frame inside sibsim the deprecation warning is "
         "attributed to (the generic TOML reader, or the one above it); its category and text "
         "are tested"),
    "sibsim.money.capital.x__read_fixed__mutmut_3":
        ('a {dist = ...} table left as a table is parsed by the amount check to the same '
         'distribution, and a bad one is reported at the same key (spec.toml.build names the '
         "key of a table with 'dist')"),
    "sibsim.money.capital.x__read_fixed__mutmut_4":
        ('parse_distribution returns a number or a list as it is, so numbers and per-period '
         'lists are read the same'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_43":
        ('a per-draw amount (PerDraw) is float64 by construction'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_45":
        ('a per-draw amount (PerDraw) is float64 by construction'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_47":
        ("numpy reads a negative size in reshape as 'the rest', like -1"),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_89":
        ('0.0 x served is 0 (served is checked finite), so adding or subtracting it only '
         'broadcasts the fixed costs to (D, P)'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_94":
        ('the counts in a state are only multiplied by a float price and subtracted from a '
         'float array, so integer counts give the same amounts'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_97":
        ('the counts in a state are only multiplied by a float price and subtracted from a '
         'float array, so integer counts give the same amounts'),
    "sibsim.money.capital.xǁServiceCostsǁcost__mutmut_98":
        ('a (P,) array of counts in a state broadcasts against the (D, P) arrays as (1, P) '
         'would'),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_26":
        ("check_outcome only asks whether there are states (`not states`), and None and [] "
         "both say no; with measure 'events' the states are not read"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_36":
        ("the outcome dataset stores occupancy with state as its last dimension (dataset/"
         "build.py puts (..., process, state) last; netCDF keeps the order), so the transpose "
         "moves nothing"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_48":
        ("`own` is computed from the state axis itself, so it always has one entry per state "
         "and zip's strict check never fires"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_51":
        ("`own` is computed from the state axis itself, so it always has one entry per state "
         "and zip's strict check never fires"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_54":
        ("`own` is computed from the state axis itself, so it always has one entry per state "
         "and zip's strict check never fires"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_83":
        ("the engine's events and a process's occupancy of its own states are finite (NaN "
         "marks only another process's states, which check_outcome refuses first), so "
         "skipping NaN in the sum over waves changes nothing"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_85":
        ("the engine's events and a process's occupancy of its own states are finite (NaN "
         "marks only another process's states, which check_outcome refuses first), so "
         "skipping NaN in the sum over waves changes nothing"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_91":
        ("the engine's events and a process's occupancy of its own states are finite (NaN "
         "marks only another process's states, which check_outcome refuses first), so "
         "skipping NaN in the sum over waves changes nothing"),
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_93":
        "the outcome dataset's events and occupancy are float64 already (dataset/build.py)",
    "sibsim.money.ratecard.xǁRateCardǁcounts__mutmut_95":
        "the outcome dataset's events and occupancy are float64 already (dataset/build.py)",
    'sibsim.money.payers.x_check_payers__mutmut_36':
        ('near 1, |total - 1| is a multiple of 2**-53 and 1e-9 is not, so it never equals '
         'the tolerance: > and >= agree'),
    'sibsim.money.payers.x_split_by_payer__mutmut_21':
        ('einsum takes upper-case subscripts as it takes lower-case ones'),
    'sibsim.money.payers.x_split_by_payer__mutmut_59':
        ('the caps are floats or inf (checked amounts), so the array is float64 either way'),
    'sibsim.money.payers.x_split_by_payer__mutmut_61':
        ('the caps are floats or inf (checked amounts), so the array is float64 either way'),
    'sibsim.money.payers.x_split_by_payer__mutmut_67':
        ("due is float64 already (the contract's float64 totals, or shares x float64 payments)"),
    'sibsim.money.payers.x_split_by_payer__mutmut_69':
        ("due is float64 already (the contract's float64 totals, or shares x float64 payments)"),
    'sibsim.money.payers.x_split_by_payer__mutmut_88':
        ('an array of Python ints is int64 already (on the 64-bit platforms sibsim runs on)'),
    'sibsim.money.payers.x_split_by_payer__mutmut_90':
        ('an array of Python ints is int64 already (on the 64-bit platforms sibsim runs on)'),
    'sibsim.money.payers.x_split_by_payer__mutmut_92':
        ("PaymentResult.total is float64 already (the contract's payments)"),
    'sibsim.money.payers.x_split_by_payer__mutmut_94':
        ("PaymentResult.total is float64 already (the contract's payments)"),
    'sibsim.money.payers.xǁPayerSplitǁflows__mutmut_12':
        ("paid, total and the waterfall's flows are float64 arrays already"),
    'sibsim.money.payers.xǁPayerSplitǁflows__mutmut_14':
        ("paid, total and the waterfall's flows are float64 arrays already"),
    'sibsim.money.payers.xǁPayerSplitǁflows__mutmut_18':
        ("paid, total and the waterfall's flows are float64 arrays already"),
    'sibsim.money.payers.xǁPayerSplitǁflows__mutmut_20':
        ("paid, total and the waterfall's flows are float64 arrays already"),
    'sibsim.money.payers.xǁPayerSplitǁflows__mutmut_22':
        ("paid, total and the waterfall's flows are float64 arrays already"),
    'sibsim.money.payers.xǁPayerǁshare_vector__mutmut_2':
        ('shares are floats (the fraction check returns a float, and a metric left out is 0.0)'),
    'sibsim.money.payers.xǁPayerǁshare_vector__mutmut_4':
        ('shares are floats (the fraction check returns a float, and a metric left out is 0.0)'),
    'sibsim.money.evaluation.x_contract_round__mutmut_14':
        ('steps is 0 only for a precision above 2, where |0 - 1/precision| <= 1e-9/precision '
         'is false anyway'),
    'sibsim.money.evaluation.x_contract_round__mutmut_18':
        ('|steps - 1/precision| equal to exactly 1e-9/precision needs a precision that hits '
         'the tolerance to the last bit: a search over 1/precision within 30 ulps of n/(1 + '
         '1e-9), n <= 20,000, found none'),
    'sibsim.money.evaluation.x_contract_round__mutmut_45':
        ('at x == 0 the magnitude is 0, and -0.0 + 0.0 is 0.0'),
    'sibsim.money.evaluation.xǁEvaluationǁcheck_groups__mutmut_8':
        ('sizes[arm] is 2-d (wave, stratum): axis +1 is axis -1'),
    'sibsim.money.evaluation.xǁEvaluationǁcheck_groups__mutmut_18':
        ('sizes[arm] is 2-d (wave, stratum): axis +1 is axis -1'),
    'sibsim.money.evaluation.xǁEvaluationǁcheck_groups__mutmut_64':
        ('sizes[arm] is 2-d (wave, stratum): axis +1 is axis -1'),
    'sibsim.money.sib.x_counterfactual__mutmut_13':
        ('progress=None is off, as progress=False'),
    'sibsim.money.sib.x_counterfactual_of__mutmut_3':
        ('the draw coordinate is int64 already'),
    'sibsim.money.sib.x_counterfactual_of__mutmut_5':
        ('the draw coordinate is int64 already'),
    'sibsim.money.sib.x_counterfactual_of__mutmut_12':
        ('one more draw is computed and then left out by the selection of the draws asked for:'
         ' draws are keyed on (seed, draw), so the same values'),
    'sibsim.money.sib.x_counterfactual_of__mutmut_22':
        ('more draws are computed (lo more) and then left out by the selection of the draws '
         'asked for: draws are keyed on (seed, draw), so the same values'),
    'sibsim.money.sib.x_counterfactual_of__mutmut_26':
        ('selecting every draw of a contiguous block gives the block itself'),
    'sibsim.money.sib.x_effect_free__mutmut_31':
        ("explicit only picks the field named in valued_states' values; effect_free uses its "
         'keys (the states)'),
    'sibsim.money.sib.x_effect_free__mutmut_34':
        ("explicit only picks the field named in valued_states' values; effect_free uses its "
         'keys (the states)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_39':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_40':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_42':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_43':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_44':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_45':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_46':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_47':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_48':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_49':
        ('only the speed changes: usual-layout data is read the labelled way, which gives the '
         "same numbers to the last bit (the fast path's claim; tests/test_evaluation_edges.py "
         'compares the two)'),
    'sibsim.money.evaluation.x__treated_units__mutmut_77':
        ('a list of Python ints is int64 already'),
    'sibsim.money.evaluation.x__treated_units__mutmut_79':
        ('a list of Python ints is int64 already'),
    'sibsim.money.evaluation.x__treated_units__mutmut_16':
        ('only the speed changes: with several processes the process dimension is left in, the'
         ' layout test fails and the data is read the labelled way, which gives the same '
         'numbers'),
    'sibsim.money.evaluation.x__treated_units__mutmut_17':
        ('only the speed changes: with several processes the process dimension is left in, the'
         ' layout test fails and the data is read the labelled way, which gives the same '
         'numbers'),
    "sibsim.money.sib.x_counterfactual_of__mutmut_28":
        ("distinct draws span at least their count (hi - lo >= n), so with lo > 0 hi + lo "
         "exceeds n and the draws are selected, which gives the same block; with lo = 0 the "
         "two tests are the same"),
    'sibsim.money.municipality.xǁMunicipalityǁother_costs__mutmut_14':
        ('a per-draw cost (PerDraw) is float64 by construction'),
    'sibsim.money.municipality.xǁMunicipalityǁother_costs__mutmut_16':
        ('a per-draw cost (PerDraw) is float64 by construction'),
    'sibsim.money.municipality.xǁMunicipalityǁother_costs__mutmut_18':
        ("numpy reads a negative size in reshape as 'the rest', like -1"),
    'sibsim.money.municipality.xǁMunicipalityǁper_event__mutmut_4':
        ('with process None, amount.get(None, 0.0) is 0.0 (process names are non-empty '
         'strings), the value of the else branch'),
    # survivors of the samples of 11-29 for money/evaluation.py and money/sib.py (seeds 5501,
    # 5502) and of the fresh samples 1616 and 1617 (tests: test_evaluation_refusals.py,
    # test_evaluation_by_hand.py, test_sib_memo_and_states.py)
    "sibsim.money.evaluation.x_person_periods__mutmut_16":
        ("the people per wave (whole numbers, int or float) times the periods of each window "
         "(ints) and their sum are exact in int64 and float64 alike (below 2**53), so float() "
         "of the total is the same without the float cast"),
    "sibsim.money.sib.x__deep_nbytes__mutmut_20":
        ("dead branch: a NamedTuple is a tuple, summed field by field by the tuple branch "
         "above (the same depth and bytes), and no other value kept has _asdict"),
    "sibsim.money.sib.x__deep_nbytes__mutmut_15":
        ("dead branch: a NamedTuple is a tuple, summed field by field by the tuple branch "
         "above (the same depth and bytes), and no other value kept has _asdict"),
    "sibsim.money.evaluation.x__mean_value__mutmut_12":
        ("the people per wave (whole numbers) times a bool mask and their sums are exact in "
         "int64 and float64 alike, so the weights and the weighted mean are the same without "
         "the float cast"),
    "sibsim.money.sib.x_money_arrays__mutmut_407":
        ("with one outcome process and plain per-event amounts (by_process false), valuing "
         "{process: avoided} gives 0.0 + avoided x the same amounts as valuing the array "
         "(Municipality.per_event(name) is per_event() for a plain number)"),
    # survivors of the fresh samples 5505 and 5506 (11-29, after the class tests)
    "sibsim.money.evaluation.x__prepare__mutmut_72":
        ("never reached: Evaluation.check_groups, called just before on the same sizes, "
         "refuses the same strata (no treated participant) first"),
    "sibsim.money.evaluation.x_evaluation_triggers__mutmut_54":
        ("the spans of one (1 or 1.0) only enter products and sums with floats (a historical "
         "rate's weights, the enrolled share's weights), which give the same numbers"),
    "sibsim.money.evaluation.x_in_strata__mutmut_11":
        ("no NaN reaches it: events and sizes are finite, and the occupancy of another "
         "process's state (NaN) is refused by outcome_units before it is summed"),
    "sibsim.money.sib.x__keep_lifecycle__mutmut_8":
        ("only the lifecycle's place in the memo's eviction order (moved to the end, or "
         "updated where it was): what is kept is the same values, recomputed if evicted"),
    "sibsim.money.sib.x__keep_lifecycle__mutmut_12":
        ("only the lifecycle's place in the memo's eviction order (moved to the end, or "
         "updated where it was): what is kept is the same values, recomputed if evicted"),
    "sibsim.money.sib.x__kept__mutmut_18":
        "numpy sets the writeable flag to the truth value given: None is False",
    "sibsim.money.sib.x_money_arrays__mutmut_78":
        ("without a given counterfactual the one computed from ds's own draws always passes "
         "the check; keeping that pass for the next call changes nothing"),
    "sibsim.money.sib.x__treated_total__mutmut_62":
        ("the kernel reads `started` only with mask true; without it the placeholder's shape "
         "is never read"),
    "sibsim.money.sib.x_money_arrays__mutmut_20":
        ("only whether the check that a given counterfactual has the outcome's draws is kept "
         "for the next call on the same memo or made again: the same check of the same "
         "objects, with the same outcome"),
    "sibsim.money.sib.x_money_arrays__mutmut_69":
        ("only whether the check that a given counterfactual has the outcome's draws is kept "
         "for the next call on the same memo or made again: the same check of the same "
         "objects, with the same outcome"),
    "sibsim.money.sib.x_money_arrays__mutmut_34":
        ("the draw labels are copied from ds once per memo or once per call: the same values "
         "(the memo promises the same outcome dataset)"),
    "sibsim.money.sib.x_money_arrays__mutmut_459":
        ("the sums are keyed like the savings they add up, which are a function of that key "
         "on the memo's fixed outcomes: sums kept from an earlier object of the same savings "
         "have the same values"),
    "sibsim.money.sib.x__label__mutmut_53":
        ("the units of money_parameter_value are the deal's currency, which is also the default "
         "of the units lookup: a misspelt key gives the same units"),
    "sibsim.money.sib.x__label__mutmut_54":
        ("the units of money_parameter_value are the deal's currency, which is also the default "
         "of the units lookup: a misspelt key gives the same units"),
    "sibsim.money.deal.xǁDealǁ_check_processes__mutmut_41":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.deal.xǁDealǁ_check_processes__mutmut_44":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.deal.xǁDealǁ_check_rate_cards__mutmut_44":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.deal.xǁDealǁ_check_rate_cards__mutmut_47":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.sib.x__state_pick__mutmut_8":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.sib.x__state_pick__mutmut_11":
        ("every outcome kind (binary, counts, markov) defines states (a count outcome's are "
         "()), so getattr's default is never used"),
    "sibsim.money.evaluation.x__treated_units__mutmut_41":
        ("evaluate puts every dataset in the schema's dimension order first (in_schema_order), "
         "so the inverted test sends every dataset the labelled way, which gives the same "
         "numbers to the last bit (only slower)"),
    "sibsim.money.evaluation.x__treated_units__mutmut_65":
        ("values[:, 0] takes the first arm of the slice, which starts at the treated arm "
         "wherever it is listed: a slice that runs on to the end gives the same arm"),
    "sibsim.money.evaluation.x__treated_units__mutmut_69":
        ("values[:, 0] takes the first arm of the slice, which starts at the treated arm "
         "wherever it is listed: a slice one arm longer gives the same arm"),
    "sibsim.money.uncertain.x__holders__mutmut_8":
        ("resolve_money resolves the payers after its loop over the holders whatever their "
         "label: a mislabelled payers holder only sets an attribute nothing reads on the copy"),
    "sibsim.money.uncertain.x_resolve_money__mutmut_14":
        ("the payers are set after the loop, to the tuple of resolved payers, whatever the loop "
         "set the attribute to before"),
    "sibsim.money.uncertain.x_resolve_money__mutmut_15":
        ("the payers' holders are the last of _holders' list (after the service costs), so "
         "leaving the loop at the first one skips the same holders as continuing"),
    "sibsim.money.uncertain.x_per_draw__mutmut_9":
        ("per-draw values are sampled (float64 already) or set in Python, and only multiply or "
         "add float amounts: an integer array gives the same amounts"),
    "sibsim.money.termination.x__with_claim_share__mutmut_6":
        ("the ledger pays nothing on a claim-tied share's metric (ClaimShare.due is 0 for every "
         "draw, and check_claim_share refuses a pooled rule that is not a claim-tied share), so "
         "that metric's row of by_metric is 0 and '= claim' equals '0 + claim'"),
    "sibsim.money.termination.xǁTerminationRuleǁcancel_period__mutmut_6":
        ("the base class's cancel_period is never called by the library (apply_cancellation "
         "calls it only on rules decided outside the contract, and CancelLaterCohorts, the only "
         "one, overrides it), and its n_periods is a Python int (ds.sizes), for which np.full "
         "gives int64 without a dtype under numpy >= 2 on every platform"),
    "sibsim.money.payer_scope.x_check_payer_scope__mutmut_88":
        ("zip without strict=True: shares is built from the payers (one entry each) and col is "
         "a column of presence(payers, years), one row per payer, so the three always have the "
         "same length and strict never raises"),
    "sibsim.money.uncertain.x__holders__mutmut_9":
        ("resolve_money resolves the payers after its loop over the holders whatever their "
         "label: a mislabelled payers holder ('PAYERS') only sets an attribute nothing reads "
         "on the copy (as _holders__mutmut_8)"),
    "sibsim.money.irr.x__as_flows__mutmut_38":
        ("numpy takes any negative size in reshape as the one unknown dimension "
         "(np.arange(4).reshape(1, -2).shape == (1, 4) under numpy 2.4), so reshape(1, -2) "
         "gives the same (1, periods) array as reshape(1, -1)"),
    "sibsim.money.termination.x_lifecycle__mutmut_2":
        ("lifecycle is given priced deals only, and a Deal has a contract and a capital "
         "structure together or neither, so 'and' and 'or' agree"),
    "sibsim.money.irr.x_irr__mutmut_56":
        ("the parallel and the serial kernel compute each path with the same arithmetic; the "
         "number of paths only picks which one runs (for speed)"),
    "sibsim.money.irr.x_npv__mutmut_63":
        ("the parallel and the serial kernel compute each path with the same arithmetic; the "
         "number of paths only picks which one runs (for speed)"),
    "sibsim.money.irr.x_npv__mutmut_64":
        ("the parallel and the serial kernel compute each path with the same arithmetic; the "
         "number of paths only picks which one runs (for speed)"),
    "sibsim.money.irr.x_npv__mutmut_21":
        "astype(None) converts to float64, as astype(np.float64)",
    "sibsim.money.scenario_sections.x__tuple__mutmut_1":
        "dead code: scenario_sections._tuple is defined but never called",
    "sibsim.money.scenario_sections.x__tuple__mutmut_2":
        "dead code: scenario_sections._tuple is defined but never called",
    "sibsim.money.scenario_sections.x__tuple__mutmut_3":
        "dead code: scenario_sections._tuple is defined but never called",
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_1":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_2":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_3":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_4":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_5":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_6":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.xǁ_Uncertainǁ__init____mutmut_7":
        ('not observable under mutmut: _Uncertain.__init__ runs only at import, when the '
         "design classes are defined, in mutmut's parent process before any mutant is switched "
         'on; the descriptions it builds reach users only through the generated docs'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_14":
        ('one more draw is sampled and not used: values are keyed on (seed, draw), so the '
         'draws asked for get the same values'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_26":
        ('always indexing instead of the fast path for a contiguous ascending block gives the '
         'same values'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_30":
        ("distinct integer draws stepping by 1 always span exactly their count, so the "
         "mutated test is never true and every selection is indexed, with the same values"),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_31":
        ('always indexing instead of the fast path for a contiguous ascending block gives the '
         'same values'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_34":
        ('distinct integer draws whose span equals their count and that step by 2 do not exist '
         '(but one draw, where both paths agree)'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_3":
        ("the draws are the outcome dataset's integer draw coordinate; any integer dtype "
         'indexes the same'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_5":
        ("the draws are the outcome dataset's integer draw coordinate; any integer dtype "
         'indexes the same'),
    "sibsim.money.evaluation.x__no_comparison__mutmut_14":
        ("only one registered design ('historical') needs no comparison group, so the "
         'separator between design names is never printed'),
    "sibsim.money.evaluation.x__sample_for_draws__mutmut_29":
        ('for draws stepping by 1, hi + lo equals their count only when lo = 0, where it is hi '
         '- lo: the same test'),
    "sibsim.money.evaluation.xǁHistoricalǁcounterfactual__mutmut_14":
        ('participants and spans enter only products and a true division, which give floats '
         'whatever their dtype'),
    "sibsim.money.evaluation.xǁHistoricalǁcounterfactual__mutmut_16":
        ('participants and spans enter only products and a true division, which give floats '
         'whatever their dtype'),
    "sibsim.money.evaluation.xǁHistoricalǁcounterfactual__mutmut_18":
        ('participants and spans enter only products and a true division, which give floats '
         'whatever their dtype'),
    "sibsim.money.evaluation.xǁHistoricalǁcounterfactual__mutmut_20":
        ('participants and spans enter only products and a true division, which give floats '
         'whatever their dtype'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_1":
        ("the divisor is never 0 (zero totals are replaced by 1.0 first), so numpy's error "
         'state is never consulted'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_16":
        ('where the total paid is 0 every payer paid 0 (paid >= 0), so its part, 0 / 1.0, is 0 '
         'either way'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_2":
        ("the divisor is never 0 (zero totals are replaced by 1.0 first), so numpy's error "
         'state is never consulted'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_25":
        ('the placeholder divisor of periods nobody paid in; their part is discarded by the '
         'outer np.where'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_27":
        ('the placeholder divisor of periods nobody paid in; their part is discarded by the '
         'outer np.where'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_3":
        ("the divisor is never 0 (zero totals are replaced by 1.0 first), so numpy's error "
         'state is never consulted'),
    "sibsim.money.payers.xǁPayerSplitǁflows__mutmut_4":
        ("the divisor is never 0 (zero totals are replaced by 1.0 first), so numpy's error "
         'state is never consulted'),
    "sibsim.money.ratecard.x__toml_schedule__mutmut_2":
        ('the schedule check takes any sequence for a (from_period, price) pair and stores a '
         'tuple, so pairs left as lists are read the same'),
    "sibsim.money.ratecard.xǁRateCardǁamounts__mutmut_3":
        ('counts only multiply float prices, so integer counts give the same amounts'),
    "sibsim.money.ratecard.xǁRateCardǁamounts__mutmut_5":
        ('counts only multiply float prices, so integer counts give the same amounts'),
    "sibsim.money.ratecard.xǁRateCardǁamounts__mutmut_29":
        ('participants only multiply a float cap, so integer participants give the same limit'),
    "sibsim.money.ratecard.xǁRateCardǁamounts__mutmut_31":
        ('participants only multiply a float cap, so integer participants give the same limit'),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_39":
        ("net_savings, outcome_payments and their yearly sums are 2-d (draw, period|year): "
         "axis +1 is axis -1"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_56":
        ("np.errstate only silences warnings: the divisions never divide by 0 (the denominator"
         " is 1.0 where the PV of costs is <= 0), so no warning is raised for finite money "
         "amounts"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_57":
        ("np.errstate only silences warnings: the divisions never divide by 0 (the denominator"
         " is 1.0 where the PV of costs is <= 0), so no warning is raised for finite money "
         "amounts"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_58":
        ("np.errstate only silences warnings: the divisions never divide by 0 (the denominator"
         " is 1.0 where the PV of costs is <= 0), so no warning is raised for finite money "
         "amounts"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_59":
        ("np.errstate only silences warnings: the divisions never divide by 0 (the denominator"
         " is 1.0 where the PV of costs is <= 0), so no warning is raised for finite money "
         "amounts"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_84":
        ("at a PV of costs of exactly 0 the quotient is computed but the outer np.where "
         "replaces it with NaN (the warning it raises is silenced by np.errstate)"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_86":
        ("the placeholder denominator is used only where the PV of costs is <= 0, whose "
         "quotient the outer np.where replaces with NaN"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_108":
        ("at a PV of costs of exactly 0 the quotient is computed but the outer np.where "
         "replaces it with NaN (the warning it raises is silenced by np.errstate)"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_110":
        ("the placeholder denominator is used only where the PV of costs is <= 0, whose "
         "quotient the outer np.where replaces with NaN"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_186":
        ("net_savings, outcome_payments and their yearly sums are 2-d (draw, period|year): "
         "axis +1 is axis -1"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_206":
        ("net_savings, outcome_payments and their yearly sums are 2-d (draw, period|year): "
         "axis +1 is axis -1"),
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_223":
        ("net_savings, outcome_payments and their yearly sums are 2-d (draw, period|year): "
         "axis +1 is axis -1"),
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_6":
        "breakeven_period is given 2-d flows (draw, period) only: axis +1 is axis -1",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_20":
        "breakeven_period is given 2-d flows (draw, period) only: axis +1 is axis -1",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_28":
        "breakeven_period is given 2-d flows (draw, period) only: axis +1 is axis -1",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_38":
        "breakeven_period is given 2-d flows (draw, period) only: axis +1 is axis -1",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_49":
        "breakeven_period is given 2-d flows (draw, period) only: axis +1 is axis -1",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_54":
        "(last_neg + 1).astype(None) is float64, as astype(float)",
    "sibsim.analysis.metrics.x_breakeven_period__mutmut_57":
        "None assigned into a float array is stored as NaN",
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_42":
        ("an investor's drawdowns, receipts and flows are 2-d (draw, period): axis +1 is axis "
         "-1"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_46":
        ("an investor's drawdowns, receipts and flows are 2-d (draw, period): axis +1 is axis "
         "-1"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_75":
        ("np.errstate only silences warnings: the division never divides by 0 (the denominator"
         " is 1.0 where nothing was drawn), so no warning is raised for finite money amounts"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_76":
        ("np.errstate only silences warnings: the division never divides by 0 (the denominator"
         " is 1.0 where nothing was drawn), so no warning is raised for finite money amounts"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_77":
        ("np.errstate only silences warnings: the division never divides by 0 (the denominator"
         " is 1.0 where nothing was drawn), so no warning is raised for finite money amounts"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_78":
        ("np.errstate only silences warnings: the division never divides by 0 (the denominator"
         " is 1.0 where nothing was drawn), so no warning is raised for finite money amounts"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_101":
        ("where nothing was drawn the quotient is computed but the outer np.where replaces it "
         "with NaN (the warning it raises is silenced by np.errstate)"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_103":
        ("the placeholder denominator is used only where nothing was drawn, whose quotient the"
         " outer np.where replaces with NaN"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_67":
        "at irr == -1 both branches give -1: (1 + -1) ** ppy - 1 == -1",
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_69":
        "irr returns NaN or a rate >= -1 (money.irr: the range (-1, inf), -1 for total loss)",
    "sibsim.analysis.metrics.x_municipality_metrics__mutmut_251":
        "net_savings is 2-d (draw, period): axis +1 is axis -1",
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__init____mutmut_126":
        ("the trace's size per draw only decides whether the expected-trace kernel runs on one "
         "thread or on all (a few milliseconds of work is not worth starting threads): each "
         "draw's trace is computed alone, so the numbers are the same on any number of threads "
         "(tests/test_multi_process.py::test_thread_count_does_not_change_multi_process_"
         "results)"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__init____mutmut_135":
        ("the trace's size per draw only decides whether the expected-trace kernel runs on one "
         "thread or on all (a few milliseconds of work is not worth starting threads): each "
         "draw's trace is computed alone, so the numbers are the same on any number of threads "
         "(tests/test_multi_process.py::test_thread_count_does_not_change_multi_process_"
         "results)"),
    "sibsim.dataset.io.x_open_dataset__mutmut_2":
        ("xarray's default engine is netcdf4 whenever the netCDF4 package is installed, and "
         "sibsim requires it (pyproject.toml dependencies); naming it only guards against "
         "another default in a future xarray"),
    "sibsim.dataset.io.x_open_dataset__mutmut_4":
        ("xarray's default engine is netcdf4 whenever the netCDF4 package is installed, and "
         "sibsim requires it (pyproject.toml dependencies); naming it only guards against "
         "another default in a future xarray"),
    "sibsim.dataset.io.x_to_netcdf__mutmut_3":
        ("xarray's default engine is netcdf4 whenever the netCDF4 package is installed, and "
         "sibsim requires it (pyproject.toml dependencies); naming it only guards against "
         "another default in a future xarray"),
    "sibsim.dataset.io.x_to_netcdf__mutmut_5":
        ("xarray's default engine is netcdf4 whenever the netCDF4 package is installed, and "
         "sibsim requires it (pyproject.toml dependencies); naming it only guards against "
         "another default in a future xarray"),
    "sibsim.analysis.blocks.xǁDrawAssemblerǁ__init____mutmut_6":
        ("the coordinate names are set from the first block (_start) before anything reads "
         "them; an assembler given no block has no variables, so result() never asks"),
    "sibsim.analysis.blocks.xǁDrawSumǁadd__mutmut_22":
        ("concatenating a buffer of one array gives a copy of that array: the same values, and "
         "each chunk is copied to row-major order before it is summed"),
    "sibsim.dataset.build.x_outcome_dataset__mutmut_190":
        ("importlib.metadata finds a distribution by its normalised name (PEP 503: case does "
         "not matter), so 'SIBSIM' is the same package"),
    "sibsim.dataset.build.x_outcome_dataset__mutmut_62":
        ("a run has one process or more (engine/run.py makes one output per process), and the "
         "engine allocates a process's engaged occupancy whenever it has states, the same "
         "condition as its occupancy: the test after 'and' never differs"),
    "sibsim.scenario_file.x__cohort__mutmut_11":
        ("a period that is not a string (None included) counts 1 period a year, the same as "
         "the default 'year'; the period itself is read (and a bad one refused) by the "
         "scenario, from the file's own key"),
    "sibsim.scenario_file.x__calendar__mutmut_11":
        ("a period that is not a string (None included) counts 1 period a year, as the "
         "default 'year' does (PERIODS_PER_YEAR['year'] is 1), so start_period's range is the "
         "same too; the period itself is read (and a bad one refused) by the scenario, from "
         "the file's own key (x__cohort__mutmut_11 before the rule moved to _calendar)"),
    "sibsim.scenario_file.x__comparison__mutmut_4":
        "only `none = true` (is True) means no group: a missing key read as None or False alike",
    "sibsim.analysis.budget.x__write_xlsx__mutmut_55":
        ("openpyxl reads a column letter in either case (column_index_from_string upper-cases "
         "it), so the file has the same width on column B (tests/test_budget_edges.py reads "
         "it back)"),
    "sibsim.analysis.summary.x_cvar__mutmut_19":
        "np.sort's default axis is -1, the one given",
    "sibsim.money.payer_waves.x_check_payer_waves__mutmut_97":
        ("zip without strict=True: shares has one entry per payer (p.share_of for each) and "
         "who is a column of cover (one row per payer) and-ed with here (one entry per payer), "
         "so the three always have the same length and strict never raises"),
    "sibsim.money.cancellation.x_apply_cancellation__mutmut_95":
        ("a role is only compared with 'planned' and 'after' (measured and due), so 'RAN' acts "
         "as 'ran' does: measured in every draw and due"),
    "sibsim.money.cancellation.x_check_cancellation__mutmut_74":
        ("any() reads getattr's default of a rule without in_waterfall, None or False, as false "
         "alike"),
    # money modules (mutation training samples 901, 11-29): equivalent by construction
    "sibsim.money.stratum_end.x_end_results__mutmut_10":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.stratum_end.x_end_results__mutmut_13":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.stratum_end.x_end_results__mutmut_14":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.stratum_end.x_unserved_mask__mutmut_11":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.stratum_end.x_unserved_mask__mutmut_14":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.stratum_end.x_unserved_mask__mutmut_15":
        ("zip without strict=True (or strict False/None): stratum_ends builds ends.strata, "
         "ends.metrics and ends.end from one list of active rules (an entry and a row each), so "
         "the lengths are always equal and strict never raises"),
    "sibsim.money.payer_waves.x_check_payer_waves__mutmut_101":
        "as x_check_payer_waves__mutmut_97 (zip without strict: the lengths are always equal)",
    "sibsim.money.payer_waves.x_check_payer_waves__mutmut_102":
        "as x_check_payer_waves__mutmut_97 (strict=False: the lengths are always equal)",
    "sibsim.money.estimand.x_enrolled_share__mutmut_9":
        ("spans kept as integers (dtype=None): they only multiply float64 arrays (n_t cast to "
         "float, enrolled counts), where each integer span converts exactly: the same values"),
    "sibsim.money.estimand.x_enrolled_share__mutmut_11":
        ("spans kept as integers (no dtype): they only multiply float64 arrays (n_t cast to "
         "float, enrolled counts), where each integer span converts exactly: the same values"),
    "sibsim.money.estimand.x_enrolled__mutmut_61":
        ("entry_period is int64 in every outcome dataset (dataset/schema.py), so asarray "
         "without dtype=int64 gives the same array"),
    "sibsim.money.estimand.x_enrolled__mutmut_63":
        ("entry_period is int64 in every outcome dataset (dataset/schema.py), so asarray "
         "without dtype=int64 gives the same array"),
    "sibsim.money.stratum_end.x_end_results__mutmut_17":
        ("np.array of a list of Python bools is a bool array without dtype=bool; the list has "
         "one entry per trigger and a deal's table has at least one (every evaluation gives "
         "one or more), so it is never empty (an empty list would give float64)"),
    "sibsim.money.sib.x_money_arrays__mutmut_579":
        ("EvaluationTable checks its period and participants as Python integers "
         "(v.integer), and a deal's table has at least one trigger, so np.array of them is "
         "int64 with or without dtype=np.int64"),
    "sibsim.money.sib.x_money_arrays__mutmut_581":
        ("EvaluationTable checks its period and participants as Python integers "
         "(v.integer), and a deal's table has at least one trigger, so np.array of them is "
         "int64 with or without dtype=np.int64"),
    "sibsim.money.sib.x_money_arrays__mutmut_595":
        ("EvaluationTable checks its period and participants as Python integers "
         "(v.integer), and a deal's table has at least one trigger, so np.array of them is "
         "int64 with or without dtype=np.int64"),
    "sibsim.money.sib.x_money_arrays__mutmut_597":
        ("EvaluationTable checks its period and participants as Python integers "
         "(v.integer), and a deal's table has at least one trigger, so np.array of them is "
         "int64 with or without dtype=np.int64"),
    "sibsim.money.termination.xǁ_Chanceǁhappens__mutmut_3":
        ("happens passes draws on only to _sample_for_draws, which casts them with "
         "np.asarray(draws, dtype=np.int64) itself: the same draws either way"),
    "sibsim.money.termination.xǁ_Chanceǁhappens__mutmut_5":
        ("happens passes draws on only to _sample_for_draws, which casts them with "
         "np.asarray(draws, dtype=np.int64) itself: the same draws either way"),
    "sibsim.money.termination.x_lifecycle__mutmut_188":
        ("the waterfall kernel allocates stop as np.empty(n_draws, np.int64) "
         "(money/kernels/waterfall.py) and CashFlows keeps it, so flows.stop_period is int64 "
         "with or without the cast"),
    "sibsim.money.termination.x_lifecycle__mutmut_190":
        ("the waterfall kernel allocates stop as np.empty(n_draws, np.int64) "
         "(money/kernels/waterfall.py) and CashFlows keeps it, so flows.stop_period is int64 "
         "with or without the cast"),
    "sibsim.money.money_metric.xǁMoneyValueǁnoise__mutmut_30":
        "np.concatenate's default axis is 0, the one given",
    "sibsim.money.sib.x__ended_served__mutmut_26":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x__ended_served__mutmut_27":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x__ended_served__mutmut_37":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x__ended_served__mutmut_38":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_86":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_87":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_159":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_160":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_179":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_180":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_251":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_252":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_390":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_391":
        ("the first element of a cache key only keeps one family of kept values apart from the "
         "others in the same dict; any other string that no other key starts with does the "
         "same, and the values kept and returned are unchanged"),
    "sibsim.money.sib.x_money_arrays__mutmut_173":
        ("the value is computed afresh on every call instead of kept: the same numbers (a "
         "pure function of the same outcomes), and the array is never handed to a caller (it "
         "is subtracted or summed into a new one), so only the time differs"),
    "sibsim.money.sib.x_money_arrays__mutmut_231":
        ("the value is computed afresh on every call instead of kept: the same numbers (a "
         "pure function of the same outcomes), and the array is never handed to a caller (it "
         "is subtracted or summed into a new one), so only the time differs"),
    "sibsim.money.sib.x_money_arrays__mutmut_245":
        ("the value is computed afresh on every call instead of kept: the same numbers (a "
         "pure function of the same outcomes), and the array is never handed to a caller (it "
         "is subtracted or summed into a new one), so only the time differs"),
    "sibsim.money.money_metric.xǁMoneyValueǁnoise__mutmut_43":
        ("one block of normals more is generated and never read: rows are picked by draw - "
         "first x PARAM_BLOCK, which lies in the first last - first + 1 blocks; the blocks "
         "read come from their own keyed streams, unchanged"),
    "sibsim.dataset.build.x_resolve_seed__mutmut_4":
        ("Generator.integers(high) draws from [0, high), as integers(0, high), and from the same "
         "stream (the same values for 10,000 draws, numpy 2.4)"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__call____mutmut_73":
        ("money_flows' flows are finite (tests/test_chain_properties.py checks every money "
         "variable of random valid deals), so summing the tranches' flows with or without skipping "
         "NaN gives the same values"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__init____mutmut_122":
        ("the trace's size per draw only decides whether the expected-trace kernel runs on one "
         "thread or on all (as __init____mutmut_126): each draw's trace is computed alone, so "
         "the numbers are the same on any number of threads"),
    "sibsim.analysis.breakeven.xǁ_Pipelineǁ__init____mutmut_137":
        ("the trace's size per draw only decides whether the expected-trace kernel runs on one "
         "thread or on all (as __init____mutmut_126): each draw's trace is computed alone, so "
         "the numbers are the same on any number of threads"),
    "sibsim.money.scenario_sections.x_parse_money__mutmut_81":
        ("Municipality reads None as no values (money/municipality.py _values returns {} for "
         "None), the same as the default {}"),
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_55":
        "money.irr.irr returns its status codes as int8 already",
    "sibsim.analysis.metrics.x_investor_metrics__mutmut_57":
        "money.irr.irr returns its status codes as int8 already",
    # analysis modules first mutated 11-29 (mutanalysis)
    "sibsim.analysis.evaluation_design.x__per_draw__mutmut_105":
        ("net_savings is 2-d (draw, period) in money_flows' dataset: axis +1 is axis -1"),
    "sibsim.analysis.replay.x__savings_on_units__mutmut_10":
        ("`use = pooled or idx`: where no trigger is pooled, an empty list and idx both give "
         "idx, so whether the waves' triggers are listed in `pooled` changes nothing"),
    "sibsim.analysis.sensitivity.given_data.x__eta__mutmut_2":
        "astype(None) is astype(float64): numpy's default dtype",
    "sibsim.analysis.sensitivity.sobol.x_sobol_indices__mutmut_14":
        ("n is checked >= 8 first, and for such n, n & (n - 2) is 0 exactly when n is a power "
         "of two, as n & (n - 1) is (an odd n leaves bit 0 set in both; a search of "
         "n = 8..100,000 found no other)"),
    "sibsim.analysis.sensitivity.sobol.x_sobol_indices__mutmut_95":
        "scipy's bootstrap interval is float64 already",
    "sibsim.analysis.sensitivity.sobol.xǁ_Marginalǁppf__mutmut_6":
        ("scipy.stats.sobol_indices passes the ppf float64 points of its Sobol' sequence "
         "(uniforms in [0, 1)), so the conversion changes nothing"),
    "sibsim.analysis.sensitivity._common.xǁChainǁ_effect_free__mutmut_22":
        ("same_outcomes only lets EffectFree keep what depends on the outcomes alone between "
         "money_arrays calls (a cache, money/sib.py effect_free): without it the same numbers "
         "are computed again on each call"),
    "sibsim.analysis.sensitivity._common.xǁChainǁoutput__mutmut_68":
        ("only=None computes every per-draw output instead of the one asked for, and _summary "
         "reads only that one: the same number, more slowly (tests/test_sensitivity_"
         "definitions.py compares Chain.output with the full money chain for every output)"),
}

STATUS = {-15: "terminated", 1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          34: "skipped", 35: "suspicious", 36: "timeout", 37: "caught by type check",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
KILLED = {"killed", "timeout", "caught by type check"}

COPY = ("src", "tests", "docs", "examples", "README.md", "pyproject.toml")


def _config(module: str, tests: list[str], jobs: int) -> str:
    selection = json.dumps([f"tests/{t}" for t in tests if not t.startswith("-")
                            and (ROOT / "tests" / t.split("::")[0]).exists()])
    options = json.dumps(["-p", "no:cacheprovider", "-q", "-x",
                          *(t for t in tests if t.startswith("-"))])
    return f"""

[tool.mutmut]
source_paths = ["src"]
only_mutate = ["src/sibsim/{module}"]
pytest_add_cli_args_test_selection = {selection}
pytest_add_cli_args = {options}
also_copy = ["docs", "examples", "README.md"]
"""


def _copy(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nc"))
        else:
            shutil.copy2(src, dest / name)


def checkout_state(root: Path) -> dict:
    """The commit of the checkout at ``root`` and whether its copied files (``COPY``) hold
    uncommitted changes: what a module's run measures, recorded when its copy is made (a run
    takes many minutes, and the checkout may move on meanwhile)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True,
                              text=True).stdout.strip()

    return {"measured_commit": git("rev-parse", "--short", "HEAD") or None,
            "uncommitted_changes": bool(git("status", "--porcelain", "--", *COPY))}


def _strip(diff: str) -> str:
    """The changed lines of a mutant's diff (without the file headers)."""
    lines = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return "\n".join(lines)


def _state_file(module: str) -> Path:
    return STATE / (module.replace("/", "__") + ".meta")


SURVIVED = ("survived", "no tests", "suspicious", "terminated")

_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
names = json.load(sys.stdin)
json.dump({n: get_diff_for_mutant(n, path=find_mutant(n).path) for n in names}, sys.stdout)
"""


_GENERATE = """
import json, os, sys
from pathlib import Path
from mutmut.__main__ import (SourceFileMutationData, copy_also_copy_files, copy_src_dir,
                             create_mutants, setup_source_paths, store_lines_covered_by_tests,
                             walk_mutatable_files)
from mutmut.mutation.trampoline import set_mutant_under_test
set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
copy_src_dir()
copy_also_copy_files()
setup_source_paths()
store_lines_covered_by_tests()
create_mutants(1)
names = []
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    names.extend(data.exit_code_by_key)
json.dump(sorted(names), sys.stdout)
"""

#: the seed of --sample's draw when none is given
SAMPLE_SEED = 20261129


def _generate(work: Path, env: dict) -> list[str]:
    """The names of every mutant of the module configured in ``work`` (mutmut's generation
    step alone: no test is run)."""
    done = subprocess.run([sys.executable, "-c", _GENERATE], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"generating the mutants failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def draw_sample(names: list[str], n: int, seed: int) -> list[str]:
    """A uniform random sample (without replacement) of ``n`` of the mutant ``names``, the
    same for the same names, ``n`` and ``seed`` (all of them when ``n`` >= their number)."""
    import random
    names = sorted(names)
    if n >= len(names):
        return names
    return sorted(random.Random(seed).sample(names, n))


def wilson_interval(killed: int, checked: int) -> list[float] | None:
    """The 95% Wilson score interval of the killed share ``killed / checked`` (a binomial
    proportion), as ``scipy.stats.binomtest(...).proportion_ci(method="wilson")`` gives it."""
    if not checked:
        return None
    from scipy.stats import binomtest
    ci = binomtest(killed, checked).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def _shares(row: dict) -> dict:
    """``row`` with its killed shares (and, for a sample, the share's 95% interval) computed
    from its counts and survivors."""
    if row.get("sampled") and row.get("sample_size", 0) >= row["mutants"]:  # the sample: all
        row = {k: x for k, x in row.items()
               if k not in ("sampled", "sample_size", "sample_seed", "killed_share_ci95",
                            "killed_share_without_equivalent_ci95")}
    checked = row["checked"]
    killed = sum(n for s, n in row["counts"].items() if s in KILLED)
    equivalent = sum(1 for s in row["survivors"] if "equivalent" in s)
    row = {**row, "killed_share": round(killed / checked, 4) if checked else None,
           "killed_share_without_equivalent": (round(killed / (checked - equivalent), 4)
                                               if checked - equivalent > 0 else None)}
    if row.get("sampled"):
        row["killed_share_ci95"] = wilson_interval(killed, checked)
        row["killed_share_without_equivalent_ci95"] = wilson_interval(killed,
                                                                      checked - equivalent)
    return row


def _diffs(names: list[str], work: Path, env: dict) -> dict[str, str]:
    """The diff of each mutant named (what ``mutmut show`` prints), in one process."""
    if not names:
        return {}
    done = subprocess.run([sys.executable, "-c", _DIFFS], input=json.dumps(names), cwd=work,
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode == 0:
        return json.loads(done.stdout)
    return {n: subprocess.run([sys.executable, "-m", "mutmut", "show", n], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120).stdout
            for n in names}


def _function(name: str) -> str:
    """The function part of a mutant's name (mutmut numbers the mutants of each function)."""
    return name.rsplit("__mutmut_", 1)[0]


def match_by_diff(names: list[str], recorded: dict[str, str],
                  diffs: dict[str, str]) -> tuple[list[str], dict[str, str], list[str]]:
    """The mutants of a new generation that are ``names`` of an earlier one: mutmut numbers
    the mutants of a function in order, so an edit of the function's source earlier than a
    mutation renumbers it. Each name whose new diff (``diffs``, stripped, of every mutant of
    the same functions) is its ``recorded`` one is kept; otherwise the one mutant of its
    function with that diff takes its place. Returns the names to run, ``{old: new}`` for the
    renumbered, and the names whose mutation is no longer generated (its line was edited)."""
    run, renamed, gone = [], {}, []
    for name in names:
        if diffs.get(name) == recorded[name]:
            run.append(name)
            continue
        same = [m for m, d in diffs.items()
                if _function(m) == _function(name) and d == recorded[name]]
        if len(same) == 1:
            run.append(same[0])
            renamed[name] = same[0]
        else:
            gone.append(name)
    return run, renamed, gone


def run_module(module: str, budget: float, jobs: int, recheck: list[str] | None = None,
               resume: bool = False, sample: int | None = None,
               sample_seed: int = SAMPLE_SEED,
               recorded_diffs: dict[str, str] | None = None) -> dict:
    """Mutate one module under a time budget. With ``resume``, the verdicts of an earlier run
    (kept in ``STATE``) stand for every function whose source is unchanged (mutmut compares a
    hash per function), and only the mutants not yet checked are run. With ``sample``, every
    mutant is generated and a uniform random sample of ``sample`` of them is checked. With
    ``recheck`` and ``recorded_diffs`` (the survivors' diffs of the earlier run), every mutant
    is generated and each survivor is found again by its diff (``match_by_diff``), so that a
    recheck after an edit of the module runs the same mutations."""
    tests = MODULES[module]
    started = time.perf_counter()
    # one fixed folder (emptied first), so that numba's cache of the unmutated kernels, kept in
    # NUMBA_CACHE_DIR and keyed on each file's path and time stamp, serves every later run
    # one folder per checkout (two checkouts mutating at once must not share it)
    work = Path(tempfile.gettempdir()) / f"sibsim-mutation-work-{ROOT.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        measured = checkout_state(ROOT)  # the tree copied, not HEAD when the file is written
        _copy(work)
        meta = work / "mutants" / "src" / "sibsim" / f"{module}.meta"
        if resume and _state_file(module).exists():
            meta.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(_state_file(module), meta)
        with open(work / "pyproject.toml", "a", encoding="utf-8") as fh:
            fh.write(_config(module, tests, jobs))
        env = {k: val for k, val in os.environ.items() if k != "PYTHONPATH"}
        env["SIBSIM_HYPOTHESIS_PROFILE"] = "mutation"  # report a failure without shrinking it
        # mutmut forks a worker per mutant from a process that has run the kernels; numba's
        # default GNU OpenMP threading layer deadlocks after a fork, workqueue does not
        env["NUMBA_THREADING_LAYER"] = "workqueue"
        env.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir())
                                              / "sibsim-mutation-numba-cache"))
        every: list[str] = []
        renamed: dict[str, str] = {}
        gone: list[str] = []
        if sample is not None:
            every = _generate(work, env)
            recheck = draw_sample(every, sample, sample_seed)
        elif recheck and recorded_diffs:
            functions = {_function(n) for n in recheck}
            now = _diffs([m for m in _generate(work, env) if _function(m) in functions],
                         work, env)
            recheck, renamed, gone = match_by_diff(
                recheck, recorded_diffs, {m: _strip(d) for m, d in now.items()})
            if not recheck:  # nothing left to run
                recheck = None
        timed_out = False
        # its own process group, so that a budget running out also ends the forked mutants
        proc = subprocess.Popen([sys.executable, "-m", "mutmut", "run", "--max-children",
                                 str(jobs), *(recheck or [])], cwd=work, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            tail = proc.communicate(timeout=budget)[0][-2000:]
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            tail = (proc.communicate()[0] or "")[-2000:]
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        if meta.exists() and (sample is not None or not recheck):
            STATE.mkdir(parents=True, exist_ok=True)
            shutil.copy2(meta, _state_file(module))
        elif recheck and sample is None and _state_file(module).exists():
            # the kept verdicts take the new ones
            kept = json.loads(_state_file(module).read_text())
            kept["exit_code_by_key"].update({k: c for k, c in codes.items() if c is not None})
            _state_file(module).write_text(json.dumps(kept))
        if recheck:  # only the mutants named were run (again)
            codes = {k: codes.get(k) for k in recheck}
            not_reached = [k for k, c in codes.items() if c is None]
        counts: dict[str, int] = {}
        survivors = []
        shown = _diffs([n for n, c in codes.items()
                        if STATUS.get(c, "suspicious") in SURVIVED], work, env)
        for name, code in sorted(codes.items()):
            status = STATUS.get(code, "suspicious")
            counts[status] = counts.get(status, 0) + 1
            if status in SURVIVED:
                entry = {"mutant": name, "status": status, "exit_code": code,
                         "diff": _strip(shown[name])}
                if name in EQUIVALENT:
                    entry["equivalent"] = EQUIVALENT[name]
                survivors.append(entry)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "skipped"))
    return _shares({
        "module": f"src/sibsim/{module}",
        **measured,
        "tests": tests,
        "mutants": len(every) if sample is not None else len(codes),
        "checked": checked,
        **({"sampled": True, "sample_size": len(recheck), "sample_seed": sample_seed}
           if sample is not None else {}),
        "counts": counts,
        "budget_s": budget,
        "budget_ran_out": timed_out,
        "wall_s": round(time.perf_counter() - started, 1),
        "survivors": survivors,
        "log_tail": None if any(c is not None for c in codes.values()) else tail,
        **({"not_reached": not_reached} if recheck and sample is None else {}),
        **({"renamed": renamed} if renamed else {}),
        **({"gone": gone} if gone else {}),
    })


def merge_recheck(before: dict, again: dict) -> dict:
    """A module's results after its survivors in ``before`` were run again (``again``): each
    rechecked mutant takes its new status, the others keep theirs."""
    rechecked = {s["mutant"]: s for s in before["survivors"]}
    # a survivor that the budget did not reach again, or whose mutation is no longer generated
    # (its line was edited), keeps its earlier verdict and entry; a renumbered one is run
    # under its new name
    renamed = again.get("renamed", {})
    gone = set(again.get("gone", ()))
    not_reached = set(again.get("not_reached", ()))
    reached = {name for name in rechecked
               if name not in gone and renamed.get(name, name) not in not_reached}
    still = {s["mutant"] for s in again["survivors"]}
    counts = dict(before["counts"])
    for name, entry in rechecked.items():
        if name in reached:
            counts[entry["status"]] -= 1
    for status, n in again["counts"].items():
        if status != "not checked":
            counts[status] = counts.get(status, 0) + n
    counts = {s: n for s, n in counts.items() if n}
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "skipped"))
    survivors = again["survivors"] + [entry for name, entry in rechecked.items()
                                      if name not in reached]
    # the figures of the run before any recheck stay in the file: a recheck after new tests
    # reports the tests written for those survivors, not a fresh measurement
    first = before.get("first_run") or {
        k: before[k] for k in ("counts", "checked", "killed_share", "killed_share_ci95",
                               "wall_s", "budget_ran_out") if k in before}
    return _shares({**before, "counts": counts, "checked": checked,
            "survivors": survivors, "first_run": first,
            "rechecked": {"mutants": len(rechecked), "tests": again["tests"],
                          "wall_s": again["wall_s"], "budget_ran_out": again["budget_ran_out"],
                          "still_surviving": len(again["survivors"]),
                          "not_reached": len(rechecked) - len(reached),
                          "killed": sorted(name for name in reached
                                           if renamed.get(name, name) not in still),
                          **({"renumbered": renamed} if renamed else {}),
                          **({"no_longer_generated": sorted(gone)} if gone else {})}})


def annotate(row: dict, notes: bool = True) -> dict:
    """A module's results with the reasons now in ``EQUIVALENT`` on its survivors (and, with
    ``notes``, the module's note in ``NOTES``, which describes its runs in ``RESULTS``)."""
    survivors = []
    for entry in row["survivors"]:
        entry = {k: val for k, val in entry.items() if k != "equivalent"}
        if entry["mutant"] in EQUIVALENT:
            entry["equivalent"] = EQUIVALENT[entry["mutant"]]
        survivors.append(entry)
    note = NOTES.get(row["module"].removeprefix("src/sibsim/")) if notes else None
    return _shares({**row, "survivors": survivors, **({"note": note} if note else {})})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modules", nargs="*", default=list(MODULES),
                   help="modules under src/sibsim/ (default: all listed in MODULES)")
    p.add_argument("--budget", type=float, default=1800.0,
                   help="seconds per module (default 1800); the rest is 'not checked'")
    p.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--merge", action="store_true",
                   help="keep the other modules already in --out (re-run only those given)")
    p.add_argument("--resume", action="store_true",
                   help="keep the verdicts of the last run of each module given (from "
                        "benchmarks/.mutation-state/, for functions whose source is unchanged) "
                        "and check only the mutants it did not reach; implies --merge")
    p.add_argument("--recheck", action="store_true",
                   help="run again only the survivors of each module given that --out lists "
                        "(after new tests); implies --merge")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="generate every mutant of each module given and check a uniform random "
                        "sample of N of them; the module's entry says sampled, with the killed "
                        "share's 95%% confidence interval")
    p.add_argument("--sample-seed", type=int, default=SAMPLE_SEED,
                   help=f"seed of --sample's draw (default {SAMPLE_SEED})")
    p.add_argument("--annotate", action="store_true",
                   help="only write the reasons in EQUIVALENT onto the survivors --out lists "
                        "(after new reasons were written), and the notes in NOTES onto their "
                        "modules, running nothing")
    args = p.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        p.error(f"--sample: got {args.sample}; allowed: a whole number of mutants >= 1")
    if args.sample is not None and (args.recheck or args.resume):
        p.error("--sample checks a new sample; it cannot be combined with --recheck or --resume")
    if args.annotate:
        main_file = args.out.resolve() == RESULTS.resolve()
        rows = {r["module"]: annotate(r, notes=main_file)
                for r in json.loads(args.out.read_text())["modules"]}
        _write(args.out, rows)
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        p.error(f"unknown modules {unknown}; known: {list(MODULES)}")
    previous = {}
    if (args.merge or args.recheck or args.resume) and args.out.exists():
        previous = {r["module"]: r for r in json.loads(args.out.read_text())["modules"]}
    for module in args.modules:
        print(f"mutating {module} (budget {args.budget:.0f} s) ...", flush=True)
        before = previous.get(f"src/sibsim/{module}")
        if args.recheck and before is not None and not before["survivors"]:
            continue
        if args.recheck and before is not None:
            names = [s["mutant"] for s in before["survivors"]]
            diffs = {s["mutant"]: s["diff"] for s in before["survivors"]}
            res = merge_recheck(before, run_module(module, args.budget, args.jobs, names,
                                                   recorded_diffs=diffs))
        else:
            res = run_module(module, args.budget, args.jobs, resume=args.resume,
                             sample=args.sample, sample_seed=args.sample_seed)
            if args.resume and before is not None and before.get("resumed_from_state"):
                res["wall_s"] = round(res["wall_s"] + before["wall_s"], 1)
                res["budget_s"] = res["budget_s"] + before["budget_s"]
            if args.resume:
                res["resumed_from_state"] = True
            if before is not None and "note" in before:
                res.setdefault("note", before["note"])
        if module in NOTES and args.out.resolve() == RESULTS.resolve():  # notes on RESULTS
            res["note"] = NOTES[module]
        previous[res["module"]] = res
        print(f"  {res['checked']}/{res['mutants']} checked, killed share "
              f"{res['killed_share']}, {len(res['survivors'])} survivors, {res['wall_s']} s",
              flush=True)
        _write(args.out, previous)
    return 0


def stratified_share(rows: list[dict]) -> tuple[float, list[float]] | None:
    """The killed share over all the mutants of the sampled modules ``rows``, estimated from
    their samples (stratified sampling: each module's share weighted by its number of mutants),
    with an approximate 95% interval: each module's variance is taken from the width of its
    Wilson interval (so that a sample with no survivor still has one), times the finite
    population correction 1 - checked / mutants, and the weighted variances are summed."""
    rows = [r for r in rows if r["checked"]]
    if not rows:
        return None
    total = sum(r["mutants"] for r in rows)
    share = variance = 0.0
    for r in rows:
        weight = r["mutants"] / total
        killed = sum(n for s, n in r["counts"].items() if s in KILLED)
        share += weight * killed / r["checked"]
        low, high = wilson_interval(killed, r["checked"])
        fpc = max(0.0, 1.0 - r["checked"] / r["mutants"])
        variance += weight ** 2 * fpc * ((high - low) / (2 * 1.959964)) ** 2
    half = 1.959964 * variance ** 0.5
    return round(share, 4), [round(max(0.0, share - half), 4), round(min(1.0, share + half), 4)]


def _part(rows: list[dict], sampled: bool = False) -> dict:
    """The overall figures of the modules ``rows`` (checked in full, or sampled)."""
    checked = sum(r["checked"] for r in rows)
    killed = sum(n for r in rows for s, n in r["counts"].items() if s in KILLED)
    part = {"modules": len(rows), "mutants": sum(r["mutants"] for r in rows),
            "checked": checked, "killed": killed,
            "killed_share": round(killed / checked, 4) if checked else None}
    if sampled:
        part["killed_share_ci95"] = wilson_interval(killed, checked)
        early = [r["module"] for r in rows if "rechecked" in r and "first_run" not in r]
        if early:
            part["before_recheck"] = None
            part["before_recheck_note"] = (
                f"{len(early)} samples were rechecked before the first run's figures were kept "
                "(first_run): their counts before the recheck are not in this file")
        elif any("first_run" in r for r in rows):
            # the samples as first drawn and run, before the survivors were rechecked after
            # new tests: the unbiased measurement of the suite as it was
            firsts = [r.get("first_run", r) for r in rows]
            checked0 = sum(f["checked"] for f in firsts)
            killed0 = sum(n for f in firsts for s, n in f["counts"].items() if s in KILLED)
            part["before_recheck"] = {
                "checked": checked0, "killed": killed0,
                "killed_share": round(killed0 / checked0, 4) if checked0 else None,
                "killed_share_ci95": wilson_interval(killed0, checked0)}
            estimate0 = stratified_share([{**r, **r.get("first_run", {})} for r in rows
                                          if not r.get("budget_ran_out")
                                          and not r.get("left_out_of_estimate")])
            part["before_recheck"]["estimated_killed_share_of_all_their_mutants"] = (
                estimate0 and estimate0[0])
            part["before_recheck"]["estimated_killed_share_ci95"] = estimate0 and estimate0[1]
        # a sample the budget cut short is not uniform (mutmut runs the fastest first)
        whole = [r for r in rows if not r.get("budget_ran_out")
                 and not r.get("left_out_of_estimate")]
        estimate = stratified_share(whole)
        part["estimated_killed_share_of_all_their_mutants"] = estimate and estimate[0]
        part["estimated_killed_share_ci95"] = estimate and estimate[1]
        part["estimate_over"] = {"modules": len(whole),
                                 "mutants": sum(r["mutants"] for r in whole)}
        part["estimate_leaves_out"] = sorted(r["module"] for r in rows
                                             if r.get("budget_ran_out")
                                             or r.get("left_out_of_estimate"))
        part["note"] = ("killed_share pools the samples; the estimate weights each module's "
                        "sample share by its number of mutants (stratified sampling), over "
                        "the samples checked whole (a sample whose budget ran out leans to "
                        "the fastest mutants)")
    return part


def _write(out: Path, modules: dict) -> None:
    rows = sorted(modules.values(), key=lambda r: r["module"])
    checked = sum(r["checked"] for r in rows)
    killed = sum(n for r in rows for s, n in r["counts"].items() if s in KILLED)
    try:
        import mutmut
        version = mutmut.__version__
    except (ImportError, AttributeError):
        version = "unknown"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    report = {
        "tool": f"mutmut {version}",
        "commit": commit,  # HEAD when written; each row has the commit its run measured
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "target_killed_share": 0.90,
        "checked": checked,
        "killed": killed,
        "killed_share": round(killed / checked, 4) if checked else None,
        "killed_share_note": ("over every mutant checked, of the modules checked in full and "
                              "of the samples alike; 'exhaustive' and 'sampled' keep them apart"),
        "exhaustive": _part([r for r in rows if not r.get("sampled")]),
        "sampled": _part([r for r in rows if r.get("sampled")], sampled=True),
        "modules_not_run": sorted(f"src/sibsim/{m}" for m in MODULES
                                  if f"src/sibsim/{m}" not in modules),
        "modules": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())


"""engine.runs.groups: runs are pooled over seeds only when every other setting is identical, a seed is never pooled
twice, and every group's label tells it apart from the others shown with it."""

import pytest

from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, group_runs, run_labels, seeds_text, setting_key
from engine.tasks import MNIST1D

ADAM = "adam:lr=0.0047"


def result(optimizer: str = ADAM, seed: int = 0, **settings: object) -> RunResult:
    values: dict[str, object] = {"epochs": 3, "batch_size": 512, "log_every": 1} | settings
    (spec,) = ComparisonSpec(MNIST1D, (OptimizerChoice.parse(optimizer),), seeds=(seed,), **values).runs()  # type: ignore[arg-type]
    return RunResult(spec, "finished", [], [], {})


def test_identical_settings_pool_their_seeds_in_first_seen_order() -> None:
    runs = [result(seed=2), result("sgd"), result(seed=0), result(seed=1)]
    groups = group_runs(runs)
    assert [group.seeds for group in groups] == [[2, 0, 1], [0]]
    assert [group.label for group in groups] == ["Adam (lr=0.0047)", "SGD"]
    assert setting_key(runs[0].spec) == setting_key(runs[2].spec) != setting_key(runs[1].spec)


@pytest.mark.parametrize(("setting", "label"), [
    ({"epochs": 5}, "Adam (lr=0.0047) · 5 epochs"),
    ({"batch_size": 128}, "Adam (lr=0.0047) · batch 128"),
    ({"log_every": 4}, "Adam (lr=0.0047) · logged every 4"),
    ({"task_args": {"width": 64}}, "Adam (lr=0.0047) · width=64"),
    ({"device": "cpu"}, "Adam (lr=0.0047) · cpu"),
])
def test_any_other_setting_makes_another_group_named_by_what_differs(setting: dict[str, object], label: str) -> None:
    groups = group_runs([result(seed=0), result(seed=1, **setting)])
    assert [group.seeds for group in groups] == [[0], [1]]
    assert groups[1].label == label and groups[0].label != groups[1].label


def test_other_hyperparameters_make_another_group() -> None:
    groups = group_runs([result("adam:lr=0.01"), result("adam:lr=0.02", seed=1)])
    assert [group.label for group in groups] == ["Adam (lr=0.01)", "Adam (lr=0.02)"]


def test_a_seed_is_never_pooled_twice() -> None:
    runs = [result(seed=0), result(seed=1), result(seed=0), result(seed=0)]
    groups = group_runs(runs, describe=True)
    assert [group.seeds for group in groups] == [[0, 1], [0], [0]]
    assert [group.label for group in groups] == ["Adam (lr=0.0047) · 3 epochs · seeds 0, 1",
                                                 "Adam (lr=0.0047) · 3 epochs · repeat 2 · seed 0",
                                                 "Adam (lr=0.0047) · 3 epochs · repeat 3 · seed 0"]
    labels = run_labels(runs, describe=True)
    assert len(set(labels)) == 4 and labels[0] == "Adam (lr=0.0047) · 3 epochs · seed 0"


def test_described_labels_name_the_length_and_seeds_even_when_they_agree() -> None:
    (group,) = group_runs([result(seed=seed, epochs=40) for seed in range(5)], describe=True)
    assert group.label == "Adam (lr=0.0047) · 40 epochs · seeds 0-4"
    assert run_labels(group.runs) == ["Adam (lr=0.0047)", *(f"Adam (lr=0.0047) · seed {s}" for s in range(1, 5))]


@pytest.mark.parametrize(("seeds", "text"), [((3,), "seed 3"), ((0, 2, 5), "seeds 0, 2, 5"),
                                             ((4, 0, 1, 2, 7), "seeds 0-2, 4, 7")])
def test_seeds_text(seeds: tuple[int, ...], text: str) -> None:
    assert seeds_text(seeds) == text

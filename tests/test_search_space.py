"""Search spaces from the registry: defaults, the text and JSON forms, Optuna's distributions, bad ranges."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from engine.sweeps.search_space import (
    Choices,
    Range,
    check_space,
    default_space,
    format_space,
    from_dict,
    parse_range,
    parse_space,
    to_dict,
    to_optuna,
)
from optimizers import REGISTRY


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_registered_optimizer_has_a_default_space_from_its_registry_ranges(key: str) -> None:
    space = default_space(key)
    assert space
    for name, dimension in space.items():
        hp = next(hp for hp in REGISTRY[key].hyperparams if hp.name == name)
        assert isinstance(dimension, Range) and (dimension.low, dimension.high, dimension.log) == (hp.low, hp.high,
                                                                                                   hp.log)


def test_the_default_tunes_the_learning_rate_and_a2grad_its_beta_and_lips() -> None:
    assert list(default_space("adam")) == ["lr"]
    assert list(default_space("agaw")) == ["target_lr"]
    assert list(default_space("a2grad")) == ["beta", "lips"]


def test_text_and_json_forms_round_trip() -> None:
    space = {"lr": Range(1e-4, 0.1, log=True), "warmup_steps": Range(10, 500, log=True, integer=True)}
    assert parse_space("adam_warmup", format_space(space)) == space
    assert format_space(space) == "lr=0.0001:0.1:log,warmup_steps=10:500:log"
    variants = {"variant": Choices(("uni", "exp"))}
    assert parse_space("a2grad", format_space(variants)) == variants
    assert from_dict(to_dict({**space})) == space


def test_optuna_distributions() -> None:
    distributions = to_optuna({"lr": Range(1e-4, 0.1, log=True), "warmup_steps": Range(10, 500, integer=True),
                               "variant": Choices(("uni", "inc"))})
    assert distributions["lr"] == FloatDistribution(1e-4, 0.1, log=True)
    assert distributions["warmup_steps"] == IntDistribution(10, 500)
    assert distributions["variant"] == CategoricalDistribution(("uni", "inc"))


@pytest.mark.parametrize(("key", "text", "message"), [
    ("adam", "lr=-1:1", r"Adam: invalid lr=-1.0; valid range: lr >= 0"),
    ("adam", "beta1=0.5:1.5", r"invalid beta1=1.5; valid range: 0 <= beta1 < 1"),
    ("adam", "lr=0.1:0.01", r"invalid lr range 0.1..0.01; expected low < high"),
    ("adam", "lr=0:1:log", r"a log range needs low > 0"),
    ("adam", "momentum=0:1", r"unknown hyperparameter 'momentum'; valid names: lr, beta1, beta2"),
    ("adam", "lr=1e-3", r"expected name=low:high\[:log\]"),
    ("a2grad", "variant=uni|adam", r"invalid variant='adam'"),
])
def test_bad_ranges_name_the_field_and_its_valid_range(key: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_space(key, dict([parse_range(key, text)]))

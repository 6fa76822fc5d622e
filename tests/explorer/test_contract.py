"""Contract tests over the registry: every mechanism alone, every pair, the full tuple."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from explorer import registry
from explorer.compose import Composer
from explorer.models import DEFAULT_LR, build_model
from explorer.seeding import derive_seed, generator
from explorer.train import make_context, train
from explorer_core import registry as specs

#: Every mechanism the registry knows (built-ins and any installed plug-in), discovered from the specs.
SPECS = specs.specs()
ALL = tuple(SPECS)
TUPLES = [c for r in range(1, len(ALL) + 1) for c in itertools.combinations(ALL, r)]
#: Mechanisms with variant switches (Section 7's decoupled training: wm, rad).
DECOUPLABLE = {n: s.variant_flags for n, s in SPECS.items() if s.variant_flags}
#: Every tuple holding one also trains with all of its switches on.
VARIANTS = [(t, False) for t in TUPLES] + [(t, True) for t in TUPLES if set(t) & set(DECOUPLABLE)]
#: The metrics each mechanism must report whenever it is in the trial (its spec's, less those every trial reports
#: and those it reports only in some settings).
EXPECTED = {n: [m.name for m in s.metrics if not m.everywhere and not m.optional] for n, s in SPECS.items()}
OWNER = {m.name: n for n, s in SPECS.items() for m in s.metrics if not m.everywhere}


@pytest.fixture(autouse=True, scope="module")
def _memoised_noise_multiplier() -> Iterator[None]:
    """σ for a target ε is a pure function of (ε, δ, q, steps) and costs ~1 s; the tuples share a few."""
    import functools

    from explorer.mechanisms.dp import mechanism as dp

    mp = pytest.MonkeyPatch()
    mp.setattr(dp, "get_noise_multiplier", functools.lru_cache(maxsize=None)(dp.get_noise_multiplier))
    yield
    mp.undo()


@pytest.mark.parametrize("mechanisms, decoupled", VARIANTS,
                         ids=lambda v: "+".join(v) if isinstance(v, tuple) else ("decoupled" if v else "plain"))
def test_every_tuple_trains_and_gives_finite_metrics(make_config, mechanisms: tuple[str, ...],
                                                     decoupled: bool) -> None:
    flags = {f: True for m, switches in DECOUPLABLE.items() if decoupled and m in mechanisms for f in switches}
    config = make_config(mechanisms, **flags)
    out = train(config)
    everywhere = [m.name for s in SPECS.values() for m in s.metrics if m.everywhere]
    for key in ["acc", "loss", *everywhere, *(k for m in mechanisms for k in EXPECTED[m])]:
        assert math.isfinite(out.metrics[key]), key
    assert [k for k in out.metrics if OWNER.get(k, mechanisms[0]) not in mechanisms] == []  # no other's metric
    if "dp" in mechanisms:
        assert 0 < out.metrics["dp.epsilon"] <= config.dp.target_epsilon
    voided = [c for c in out.caveats if "DP guarantee does not cover" in c]
    assert len(voided) == (len(flags) if "dp" in mechanisms else 0), out.caveats


def test_no_mechanism_matches_a_bare_pytorch_loop_bit_for_bit(make_config) -> None:
    config = make_config((), train__epochs=2)
    ours = train(config).network

    ctx = make_context(config)
    x_all, y_all = ctx.data.train_x, ctx.data.train_y
    torch.manual_seed(derive_seed(config.seed, "model"))
    model = build_model("tiny", ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
    lr, bs, epochs = DEFAULT_LR["tiny"], config.train.batch_size, config.train.epochs
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    steps = -(-len(y_all) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, div_factor=20, total_steps=epochs * steps)
    g = generator(config.seed, "data")
    for _ in range(epochs):
        for idx in torch.randperm(len(y_all), generator=g).split(bs):
            opt.zero_grad()
            F.cross_entropy(model(x_all[idx].float() / 255), y_all[idx]).backward()
            opt.step()
            sched.step()
    for (name, a), b in zip(ours.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name


def _triggers(config) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ctx = make_context(config)
    composer = Composer.from_context(ctx)
    wm = next(m for m in composer.mechanisms if m.name == "wm")
    wm._draw(ctx)
    return torch.cat([wm.triggers.flatten(1), wm.labels[:, None].float()], dim=1)


def test_trigger_set_is_the_same_alone_and_in_combination(make_config) -> None:
    alone = _triggers(make_config(("wm",)))
    for combo in (("dp", "wm"), ("adv", "wm"), ("adv", "dp", "wm")):
        assert torch.equal(alone, _triggers(make_config(combo))), combo
    assert not torch.equal(alone, _triggers(make_config(("wm",), seed=1)))


def test_registry_lists_the_mechanisms() -> None:
    assert set(ALL) == set(registry.names()) >= {"adv", "di", "dp", "rad", "wm"}
    with pytest.raises(ValueError, match="expected one of"):
        registry.get("nope")


def test_trained_model_weights_are_deterministic(make_config) -> None:
    config = make_config(ALL)
    a, b = train(config), train(config)
    assert a.metrics == b.metrics

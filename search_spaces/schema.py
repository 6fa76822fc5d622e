"""The search-space model (frozen dataclasses) and its strict parser from YAML data.

``parse(document)`` checks the structure, every key and every domain, and each knob value against the
trial configuration (:class:`explorer_core.config.TrialConfig`); :func:`search_spaces.validate.validate`
then checks every concrete trial. ``to_dict``/``dump`` write a space back as YAML that parses to an equal
space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, NoReturn

import yaml

from explorer_core import registry, views
from explorer_core.config import ConfigError, TrialConfig, parse_mechanisms
from .constraints import (
    METRICS,
    Constraint,
    Objective,
    Thresholds,
    conflict_constraints,
    default_objectives,
)
from .domains import DomainError, Fixed, Param, is_number, parse_param
from explorer_core.errors import SpaceError, show
from .knobs import FIXED_ONLY, KNOBS, YAML_SECTIONS, knob_mechanism, yaml_key
from .reader import Document, DocPath, looks_numeric
from .seeds import SeedDesign
from explorer_core.thresholds import threshold_specs

__all__ = [
    "Space",
    "Seeds",
    "Baselines",
    "Search",
    "Confirm",
    "Resources",
    "ALGORITHMS",
    "SAMPLERS",
    "TOP_KEYS",
    "DEFAULT_SEEDS",
    "parse",
    "to_dict",
    "dump",
    "config_error",
]

ALGORITHMS = ("grid", "random", "optuna")
SAMPLERS = ("nsga2", "tpe")
DEFAULT_SEEDS = 3
MAX_SEEDS = 1000
#: Bounds that keep a space's planning finite: trials sampled by a search (and its concurrency, population),
#: candidates confirmed per tuple, and the sampler's seed (NumPy's and Optuna's samplers take 32 bits).
MAX_SAMPLES = 100_000
MAX_CANDIDATES = 1000
MAX_SAMPLER_SEED = 2**32 - 1
DEFAULT_NUM_SAMPLES = {"random": 10, "optuna": 50}
TOP_KEYS: views.Tuple[str] = views.Tuple(lambda: (
    "name", "dataset", "data", "model", "training", "eval", "mechanisms", *registry.names(), "seeds", "baselines",
    "search", "thresholds", "resources"))
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_SEARCH_KEYS = ("algorithm", "num_samples", "sampler", "seed", "population_size", "objectives", "constraints",
                "max_concurrent", "confirm")


@dataclass(frozen=True)
class Seeds:
    """Replicate seeds: ``single`` for the undefended model and single mechanisms, ``combined`` for tuples.

    With a sequential design (YAML ``{min: m, max: M, step: s}``, :class:`~search_spaces.seeds.SeedDesign`)
    ``single``/``combined`` are the first ``m`` seeds, 0..m-1, and seeds m..M-1 are added only where a
    verdict is still undecided (``explorer.looks``).
    """

    single: tuple[int, ...] = tuple(range(DEFAULT_SEEDS))
    combined: tuple[int, ...] = tuple(range(DEFAULT_SEEDS))
    single_design: SeedDesign | None = None
    combined_design: SeedDesign | None = None

    def for_mechanisms(self, mechanisms: tuple[str, ...] | list[str]) -> tuple[int, ...]:
        """The seeds every config of the tuple runs (the first ``min`` of a sequential design)."""
        return self.combined if len(mechanisms) > 1 else self.single

    def design_for(self, mechanisms: tuple[str, ...] | list[str]) -> SeedDesign:
        """The tuple's design; a fixed list of n seeds is ``SeedDesign(n, n)`` (one look)."""
        design = self.combined_design if len(mechanisms) > 1 else self.single_design
        n = len(self.for_mechanisms(mechanisms))
        return design or SeedDesign(n, n)

    def pool_for(self, mechanisms: tuple[str, ...] | list[str]) -> tuple[int, ...]:
        """Every seed the tuple may run, in order: the first ``max`` of a design, else its fixed seeds."""
        design = self.combined_design if len(mechanisms) > 1 else self.single_design
        return tuple(range(design.max)) if design else self.for_mechanisms(mechanisms)

    @property
    def sequential(self) -> bool:
        """Some tuple may get seeds beyond its first ones."""
        return any(d is not None and d.sequential for d in (self.single_design, self.combined_design))


@dataclass(frozen=True)
class Baselines:
    """Automatic baselines: the undefended model and each mechanism of the tuples alone.

    ``overrides`` (YAML ``set``) fixes knobs, by config key, in the baseline trials only.
    """

    enabled: bool = True
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Confirm:
    """Confirmation after an Optuna or random search: the ``top`` best candidates of each tuple (feasible
    ones on the Pareto front of the objectives) rerun under ``seeds`` seeds, with their exact baselines."""

    top: int = 3
    seeds: int = 3  # the first look's seeds (``design.min`` with a sequential design)
    design: SeedDesign | None = None  # YAML seeds: {min, max, step}

    def seed_design(self) -> SeedDesign:
        """The confirmation's design; a fixed count n is ``SeedDesign(n, n)``."""
        return self.design or SeedDesign(self.seeds, self.seeds)


@dataclass(frozen=True)
class Search:
    """How the space is searched; ``objectives``/``constraints`` also tell the analysis what matters."""

    algorithm: str = "grid"
    num_samples: int | None = None  # random: samples per (dataset, tuple, grid point); optuna: trials
    sampler: str | None = None  # optuna: nsga2 | tpe
    seed: int = 0  # random sampling and the Optuna sampler
    population_size: int | None = None  # NSGA-II only
    objectives: tuple[Objective, ...] = ()
    conflict: bool = True  # the paper's conflict rule, as constraints against the baselines
    constraints: tuple[Constraint, ...] = ()  # explicit ones; one on the same metric and kind replaces the rule's
    max_concurrent: int | None = None
    confirm: Confirm | None = None  # optuna, random: on by default (Confirm()); grid: never


@dataclass(frozen=True)
class Resources:
    """Per-trial resources: CPUs and a GPU share (0, 1/k, or whole GPUs)."""

    cpu: float = 1
    gpu: float = 0

    def as_tune(self) -> dict[str, float]:
        """The mapping for ``tune.with_resources``."""
        return {"cpu": self.cpu, "gpu": self.gpu}


@dataclass(frozen=True)
class Space:
    """A validated search space. ``knobs`` maps dotted trial keys (``train.lr``, ``dp.target_epsilon``) to
    a fixed value or a domain; knobs not listed keep the trial config's defaults."""

    name: str
    datasets: tuple[str, ...]
    mechanisms: tuple[tuple[str, ...], ...]
    model: str = "auto"
    knobs: dict[str, Param] = field(default_factory=dict)
    seeds: Seeds = Seeds()
    baselines: Baselines = Baselines()
    search: Search = Search()
    thresholds: Thresholds = field(default_factory=Thresholds)
    resources: Resources = Resources()
    document: Document | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        return self.document.source if self.document is not None else f"<space {self.name}>"

    def line_of(self, config_key: str) -> int | None:
        """The line where a knob (or a top-level key) is written, if the space came from a file."""
        if self.document is None:
            return None
        head, _, rest = config_key.partition(".")
        path: DocPath = (YAML_SECTIONS.get(head, head), *([rest] if rest else []))
        return self.document.line(path)

    def used_mechanisms(self) -> tuple[str, ...]:
        """Every mechanism of any tuple, in canonical order."""
        return tuple(m for m in registry.names() if any(m in t for t in self.mechanisms))

    def knobs_for(self, mechanisms: tuple[str, ...] | list[str]) -> dict[str, Param]:
        """The shared knobs plus those of the given mechanisms."""
        return {k: p for k, p in self.knobs.items() if knob_mechanism(k) in (None, *mechanisms)}

    def constraints_for(self, mechanisms: tuple[str, ...] | list[str]) -> tuple[Constraint, ...]:
        """Resolved constraints for one tuple: the conflict rule (if on), explicit ones replacing it on the
        same metric and kind, only those whose metric the tuple produces."""
        mechs = tuple(sorted(mechanisms))
        explicit = {c.name: c for c in self.search.constraints}
        rule = conflict_constraints(mechs, self.thresholds) if self.search.conflict else ()
        chosen = [explicit.pop(c.name, c) for c in rule] + list(explicit.values())
        return tuple(c.resolve(mechs) for c in chosen if c.applies_to(mechs))


def config_error(err: ConfigError, fallback_key: str, value: Any) -> tuple[str, str, str]:
    """A :class:`ConfigError`'s (yaml key, value text, allowed); a message without a key is the allowed part."""
    if err.key is None or err.allowed is None:
        return yaml_key(fallback_key), show(value), " ".join(str(err).split())
    return yaml_key(err.key), show(err.value), err.allowed


class _Parser:
    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def fail(self, path: DocPath, key: str, value: Any, allowed: str, *, at_key: bool = False,
             raw: bool = False) -> NoReturn:
        raise SpaceError(self.doc.source, self.doc.line(path, key=at_key), key, value if raw else show(value),
                         allowed)

    def mapping(self, value: Any, path: DocPath, key: str, allowed_keys: tuple[str, ...] | None,
                *, nullable: bool = True) -> dict[str, Any]:
        if value is None and nullable:
            return {}
        if not isinstance(value, dict):
            what = "a mapping" + (f" of {', '.join(allowed_keys)}" if allowed_keys else "")
            self.fail(path, key, value, what)
        if allowed_keys is not None:
            for k in value:
                if k not in allowed_keys:
                    self.fail((*path, k), f"{key}.{k}" if key != "space" else k, value[k],
                              "a known key: " + ", ".join(allowed_keys), at_key=True)
        return value

    def integer(self, value: Any, path: DocPath, key: str, lo: int, hi: int | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
            self.fail(path, key, value, f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]")
        return value

    def check_config(self, values: Mapping[str, Any], path: DocPath, key: str, value: Any) -> None:
        try:
            TrialConfig.from_dict(values)
        except ConfigError as e:
            k, v, allowed = config_error(e, key, value)
            raise SpaceError(self.doc.source, self.doc.line(path), k, v, allowed) from None

    # -- sections ---------------------------------------------------------------------------------------

    def parse(self) -> Space:
        top = self.mapping(self.doc.data, (), "space", tuple(TOP_KEYS), nullable=False)
        for required in ("name", "dataset", "mechanisms"):
            if required not in top:
                self.fail((), required, "nothing", f"a '{required}' key at the top level", raw=True)
        name = top["name"]
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            self.fail(("name",), "name", name, "a name of letters, digits and - _ . + (at most 100 characters)")
        datasets = self.datasets(top["dataset"])
        model = top.get("model", "auto")
        self.check_config({"model": model}, ("model",), "model", model)
        tuples = self.tuples(top["mechanisms"])
        used = {m for t in tuples for m in t}
        knobs: dict[str, Param] = {}
        for prefix, section in YAML_SECTIONS.items():
            if section not in top:
                continue
            if prefix in registry.specs() and prefix not in used:
                self.fail((section,), section, top[section], f"no '{section}' section: no tuple in mechanisms "
                          f"contains {prefix}", at_key=True)
            knobs.update(self.knob_section(prefix, top[section], datasets[0]))
        seeds = self.seeds(top.get("seeds", DEFAULT_SEEDS))
        baselines = self.baselines(top.get("baselines", True), used, datasets[0])
        thresholds = self.thresholds(top.get("thresholds"))
        search = self.search(top.get("search"), tuples, used, datasets)
        resources = self.resources(top.get("resources"))
        space = Space(name=name, datasets=datasets, mechanisms=tuples, model=model, knobs=knobs, seeds=seeds,
                      baselines=baselines, search=search, thresholds=thresholds, resources=resources,
                      document=self.doc)
        self.check_references(space)
        return space

    def datasets(self, raw: Any) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            self.fail(("dataset",), "dataset", raw, "a dataset name or a non-empty list of them")
        for i, d in enumerate(items):
            path: DocPath = ("dataset", i) if isinstance(raw, list) else ("dataset",)
            self.check_config({"dataset": d}, path, "dataset", d)
        if len(set(items)) != len(items):
            self.fail(("dataset",), "dataset", raw, "each dataset once")
        return tuple(items)

    def tuples(self, raw: Any) -> tuple[tuple[str, ...], ...]:
        allowed = "a non-empty list of mechanism tuples, e.g. [[dp, wm], [adv, rad]]"
        if not isinstance(raw, list) or not raw:
            self.fail(("mechanisms",), "mechanisms", raw, allowed)
        out: list[tuple[str, ...]] = []
        for i, item in enumerate(raw):
            if not isinstance(item, (list, str)):
                self.fail(("mechanisms", i), f"mechanisms[{i}]", item, "a list of mechanism names like [dp, wm]")
            try:
                mechs = parse_mechanisms(item)
            except ConfigError as e:
                _, v, a = config_error(e, "mechanisms", item)
                self.fail(("mechanisms", i), f"mechanisms[{i}]", v, a, raw=True)
            if mechs in out:
                self.fail(("mechanisms", i), f"mechanisms[{i}]", item, "each tuple once")
            out.append(mechs)
        return tuple(out)

    def knob_section(self, prefix: str, raw: Any, dataset: str) -> dict[str, Param]:
        section = YAML_SECTIONS[prefix]
        names = tuple(k.name for k in KNOBS.values() if k.section == prefix)
        body = self.mapping(raw, (section,), section, names)
        out: dict[str, Param] = {}
        mech = prefix if prefix in registry.specs() else None
        for name, value in body.items():
            key = f"{prefix}.{name}"
            knob = KNOBS[key]
            path: DocPath = (section, name)
            try:
                param = parse_param(value, knob.type, fixed_only=key in FIXED_ONLY)
            except DomainError as e:
                self.fail((*path, *e.sub), yaml_key(key), e.value, e.allowed)
            self.check_param(key, param, path, dataset, mech)
            out[key] = param
        return out

    def check_param(self, key: str, param: Param, path: DocPath, dataset: str, mech: str | None) -> None:
        """Check every listed value and both range ends against the trial config, with the value's line."""
        sub: tuple[Any, ...] = () if isinstance(param, Fixed) else (param.kind,)
        for i, v in enumerate(param.candidates()):
            where = (*path, *sub, i) if sub else path
            self.check_config({"dataset": dataset, "mechanisms": [mech] if mech else [], key: v}, where, key, v)

    def seeds(self, raw: Any) -> Seeds:
        allowed = (f"a seed count in [1, {MAX_SEEDS}], a non-empty list of seeds >= 0, {{min: m, max: M}} "
                   "or {single: .., combined: ..}")

        def one(v: Any, path: DocPath, key: str) -> tuple[tuple[int, ...], SeedDesign | None]:
            if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SEEDS:
                return tuple(range(v)), None
            if isinstance(v, list) and 0 < len(v) <= MAX_SEEDS:
                for i, s in enumerate(v):
                    self.integer(s, (*path, i), f"{key}[{i}]", 0)
                if len(set(v)) != len(v):
                    self.fail(path, key, v, "each seed once")
                return tuple(v), None
            if isinstance(v, dict) and "min" in v:
                design = self.design(v, path, key, 2)
                return tuple(range(design.min)), design if design.sequential else None
            self.fail(path, key, v, allowed)

        if isinstance(raw, dict) and "min" not in raw:
            body = self.mapping(raw, ("seeds",), "seeds", ("single", "combined"))
            if not body:
                self.fail(("seeds",), "seeds", raw, "single and/or combined")
            single = one(body["single"], ("seeds", "single"), "seeds.single") if "single" in body else None
            combined = one(body["combined"], ("seeds", "combined"), "seeds.combined") if "combined" in body else None
            first, second = single or combined, combined or single
            assert first is not None and second is not None
            return Seeds(first[0], second[0], first[1], second[1])
        s, design = one(raw, ("seeds",), "seeds")
        return Seeds(s, s, design, design)

    def design(self, raw: Any, path: DocPath, key: str, least: int) -> SeedDesign:
        """``{min: m, max: M, step: s}`` (step 1 by default): m >= ``least``, M >= m, at most MAX_SEEDS."""
        body = self.mapping(raw, path, key, ("min", "max", "step"))
        if "max" not in body:
            self.fail(path, key, raw, "{min: m, max: M} with both bounds (and optionally step)")
        low = self.integer(body["min"], (*path, "min"), f"{key}.min", least)
        high = self.integer(body["max"], (*path, "max"), f"{key}.max", low)
        if high > MAX_SEEDS:
            self.fail((*path, "max"), f"{key}.max", high, f"an integer in [{low}, {MAX_SEEDS}]")
        step = self.integer(body.get("step", 1), (*path, "step"), f"{key}.step", 1)
        return SeedDesign(low, high, step)

    def baselines(self, raw: Any, used: set[str], dataset: str) -> Baselines:
        if isinstance(raw, bool):
            return Baselines(enabled=raw)
        if not isinstance(raw, dict):
            self.fail(("baselines",), "baselines", raw, "true, false or a mapping of enabled and set")
        body = self.mapping(raw, ("baselines",), "baselines", ("enabled", "set"))
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            self.fail(("baselines", "enabled"), "baselines.enabled", enabled, "true or false")
        overrides: dict[str, Any] = {}
        sets = self.mapping(body.get("set"), ("baselines", "set"), "baselines.set", None)
        inverse = {k.yaml_key: k.key for k in KNOBS.values()}
        for ykey, value in sets.items():
            path: DocPath = ("baselines", "set", ykey)
            key = inverse.get(ykey)
            if key is None:
                self.fail(path, f"baselines.set.{ykey}", value, "a knob written as section.name, e.g. "
                          "wm.decoupled or training.lr", at_key=True)
            mech = knob_mechanism(key)
            if mech is not None and mech not in used:
                self.fail(path, f"baselines.set.{ykey}", value, f"a knob of a mechanism in the tuples "
                          f"({', '.join(sorted(used))})", at_key=True)
            try:
                param = parse_param(value, KNOBS[key].type, fixed_only=True)
            except DomainError as e:
                self.fail(path, f"baselines.set.{ykey}", e.value, e.allowed)
            self.check_param(key, param, path, dataset, mech)
            overrides[key] = value
        return Baselines(enabled=enabled, overrides=overrides)

    def thresholds(self, raw: Any) -> Thresholds:
        names = tuple(threshold_specs())
        body = self.mapping(raw, ("thresholds",), "thresholds", names)
        for k, v in body.items():
            spec = threshold_specs()[k]
            if not spec.admits(v):
                self.fail(("thresholds", k), f"thresholds.{k}", v, spec.allowed)
        return Thresholds(**body)

    def search(self, raw: Any, tuples: tuple[tuple[str, ...], ...], used: set[str],
               datasets: tuple[str, ...]) -> Search:
        body = self.mapping(raw, ("search",), "search", _SEARCH_KEYS)
        algorithm = body.get("algorithm", "grid")
        if algorithm not in ALGORITHMS:
            self.fail(("search", "algorithm"), "search.algorithm", algorithm, "one of " + ", ".join(ALGORITHMS))
        if algorithm == "optuna" and len(datasets) != 1:
            self.fail(("search", "algorithm"), "search.algorithm", algorithm, f"grid or random with "
                      f"{len(datasets)} datasets (an Optuna study has one dataset: write one space per dataset)")

        def only(key: str, cond: bool, what: str) -> None:
            if key in body and not cond:
                self.fail(("search", key), f"search.{key}", body[key], f"no search.{key} {what}", at_key=True)

        only("num_samples", algorithm != "grid", "with algorithm grid (use seeds for replicates)")
        only("sampler", algorithm == "optuna", f"with algorithm {algorithm}")
        num_samples = None
        if algorithm != "grid":
            num_samples = self.integer(body.get("num_samples", DEFAULT_NUM_SAMPLES[algorithm]),
                                       ("search", "num_samples"), "search.num_samples", 1, MAX_SAMPLES)
        sampler = None
        if algorithm == "optuna":
            sampler = body.get("sampler", "nsga2")
            if sampler not in SAMPLERS:
                self.fail(("search", "sampler"), "search.sampler", sampler, "one of " + ", ".join(SAMPLERS))
        only("population_size", sampler == "nsga2", "unless algorithm is optuna with sampler nsga2")
        population = body.get("population_size")
        if population is not None:
            population = self.integer(population, ("search", "population_size"), "search.population_size", 2,
                                      MAX_SAMPLES)
        seed = self.integer(body.get("seed", 0), ("search", "seed"), "search.seed", 0, MAX_SAMPLER_SEED)
        max_conc = body.get("max_concurrent")
        if max_conc is not None:
            max_conc = self.integer(max_conc, ("search", "max_concurrent"), "search.max_concurrent", 1, MAX_SAMPLES)
        objectives = self.objectives(body.get("objectives"), tuples, algorithm)
        conflict, constraints = self.constraints(body.get("constraints", "conflict"), used)
        only("confirm", algorithm != "grid", "with algorithm grid (every config runs under its seeds with "
             "its exact baselines already)")
        confirm = self.confirm(body.get("confirm", True)) if algorithm != "grid" else None
        return Search(algorithm=algorithm, num_samples=num_samples, sampler=sampler, seed=seed,
                      population_size=population, objectives=objectives, conflict=conflict,
                      constraints=constraints, max_concurrent=max_conc, confirm=confirm)

    def confirm(self, raw: Any) -> Confirm | None:
        path: DocPath = ("search", "confirm")
        if isinstance(raw, bool):
            return Confirm() if raw else None
        if not isinstance(raw, dict):
            self.fail(path, "search.confirm", raw, "true, false or {top: k, seeds: n}")
        body = self.mapping(raw, path, "search.confirm", ("top", "seeds"))
        top = self.integer(body.get("top", Confirm.top), (*path, "top"), "search.confirm.top", 1, MAX_CANDIDATES)
        seeds = body.get("seeds", Confirm.seeds)
        if isinstance(seeds, dict):
            design = self.design(seeds, (*path, "seeds"), "search.confirm.seeds", 2)
            return Confirm(top=top, seeds=design.min, design=design if design.sequential else None)
        if not isinstance(seeds, int) or isinstance(seeds, bool) or not 2 <= seeds <= MAX_SEEDS:
            self.fail((*path, "seeds"), "search.confirm.seeds", seeds,
                      f"an integer in [2, {MAX_SEEDS}] or {{min: m, max: M}} (Welch and TOST need >= 2 seeds per "
                      "group)")
        return Confirm(top=top, seeds=seeds)

    def objectives(self, raw: Any, tuples: tuple[tuple[str, ...], ...], algorithm: str) -> tuple[Objective, ...]:
        if raw is None:
            return default_objectives(tuples)
        body = self.mapping(raw, ("search", "objectives"), "search.objectives", None, nullable=False)
        if not body:
            self.fail(("search", "objectives"), "search.objectives", raw, "at least one metric: max|min")
        out = []
        for metric, direction in body.items():
            path: DocPath = ("search", "objectives", metric)
            key = f"search.objectives.{metric}"
            if metric not in METRICS:
                self.fail(path, key, direction, "a metric: " + ", ".join(METRICS), at_key=True)
            if direction not in ("max", "min"):
                self.fail(path, key, direction, "max or min")
            need = METRICS[metric]
            if need is not None:
                having = [t for t in tuples if need in t]
                if algorithm == "optuna" and len(having) != len(tuples):
                    self.fail(path, key, direction, f"a metric that every tuple reports ({metric} needs {need} "
                              "in every tuple: Optuna needs every objective from every trial)", at_key=True)
                if not having:
                    self.fail(path, key, direction, f"a metric of a mechanism in the tuples ({metric} needs "
                              f"{need})", at_key=True)
            out.append(Objective(metric, direction))
        return tuple(out)

    def constraints(self, raw: Any, used: set[str]) -> tuple[bool, tuple[Constraint, ...]]:
        base: DocPath = ("search", "constraints")
        allowed = "conflict, none, or a list of conflict and {metric: M, drop_vs_baseline|min|max: T}"
        if raw in ("conflict", None):
            return True, ()
        if raw == "none":
            return False, ()
        if not isinstance(raw, list):
            self.fail(base, "search.constraints", raw, allowed)
        conflict = False
        out: list[Constraint] = []
        for i, item in enumerate(raw):
            path: DocPath = (*base, i)
            key = f"search.constraints[{i}]"
            if item == "conflict":
                if conflict:
                    self.fail(path, key, item, "conflict at most once")
                conflict = True
                continue
            if not isinstance(item, dict):
                self.fail(path, key, item, allowed)
            body = self.mapping(item, path, key, ("metric", "drop_vs_baseline", "min", "max", "baseline"))
            metric = body.get("metric")
            if not isinstance(metric, str) or metric not in METRICS:
                self.fail((*path, "metric"), f"{key}.metric", metric, "a metric: " + ", ".join(METRICS))
            need = METRICS[metric]
            if need is not None and need not in used:
                self.fail((*path, "metric"), f"{key}.metric", metric, f"a metric of a mechanism in the tuples "
                          f"({metric} needs {need})")
            kinds = [k for k in ("drop_vs_baseline", "min", "max") if k in body]
            if len(kinds) != 1:
                self.fail(path, key, item, "exactly one of drop_vs_baseline, min, max")
            kind = kinds[0]
            threshold = body[kind]
            if not is_number(threshold):
                self.fail((*path, kind), f"{key}.{kind}", threshold, "a finite number")
            baseline: tuple[str, ...] = ()
            if "baseline" in body:
                if kind != "drop_vs_baseline":
                    self.fail((*path, "baseline"), f"{key}.baseline", body["baseline"],
                              "no baseline except with drop_vs_baseline", at_key=True)
                b = body["baseline"]
                items = b if isinstance(b, list) else [b]
                groups = ("none", *sorted(used))
                if not items or any(not isinstance(g, str) or g not in groups for g in items) \
                        or len(set(items)) != len(items):
                    self.fail((*path, "baseline"), f"{key}.baseline", b, "one or a list of: " + ", ".join(groups))
                baseline = tuple(sorted(items))
            c = Constraint(metric, kind, threshold, baseline)  # type: ignore[arg-type]
            if any(o.name == c.name for o in out):
                self.fail(path, key, item, f"one constraint per metric and kind ({c.name} twice)")
            out.append(c)
        return conflict, tuple(out)

    def resources(self, raw: Any) -> Resources:
        body = self.mapping(raw, ("resources",), "resources", ("cpu", "gpu"))
        cpu = body.get("cpu", 1)
        if not (is_number(cpu) and cpu > 0):
            self.fail(("resources", "cpu"), "resources.cpu", cpu, "a number of CPUs > 0 per trial")
        gpu = body.get("gpu", 0)
        ok = is_number(gpu) and gpu >= 0 and (
            gpu == 0 or (gpu >= 1 and float(gpu).is_integer())
            or (gpu < 1 and abs(1 / gpu - round(1 / gpu)) < 1e-6))
        if not ok:
            self.fail(("resources", "gpu"), "resources.gpu", gpu, "0, a fraction 1/k of one GPU (0.5, 0.25, ...) "
                      "or a whole number of GPUs")
        return Resources(cpu=cpu, gpu=gpu)

    def check_references(self, space: Space) -> None:
        """Random and Optuna baselines need one value for each sampled range: baselines.set or the default."""
        if not space.baselines.enabled or space.search.algorithm == "grid":
            return
        for key, param in space.knobs.items():
            if not param.sampled or param.kind == "choice" or key in space.baselines.overrides:
                continue
            default = KNOBS[key].default
            if default is None or not param.contains(default):
                section, _, name = yaml_key(key).partition(".")
                has = "no fixed default (it depends on the input)" if default is None else f"the default {default!r}"
                self.fail((section, name), yaml_key(key), param.to_yaml(), f"baselines.set.{yaml_key(key)} (the "
                          f"value the baselines use), or a range containing the default; {key} has {has}")


def parse(doc: Document) -> Space:
    """Build a :class:`Space` from YAML data, checking structure, keys, domains and knob values."""
    return _Parser(doc).parse()


def _seeds_yaml(seeds: tuple[int, ...], design: SeedDesign | None = None) -> Any:
    if design is not None and design.sequential:
        return _design_yaml(design)
    return len(seeds) if seeds == tuple(range(len(seeds))) else list(seeds)


def _design_yaml(design: SeedDesign) -> dict[str, int]:
    return {"min": design.min, "max": design.max, "step": design.step}


def to_dict(space: Space) -> dict[str, Any]:
    """The space as YAML-shaped data (every default made explicit) that :func:`parse` reads back equal."""
    out: dict[str, Any] = {"name": space.name,
                           "dataset": space.datasets[0] if len(space.datasets) == 1 else list(space.datasets),
                           "model": space.model,
                           "mechanisms": [list(t) for t in space.mechanisms]}
    for prefix, section in YAML_SECTIONS.items():
        body = {k.partition(".")[2]: p.to_yaml() for k, p in space.knobs.items() if k.partition(".")[0] == prefix}
        if body:
            out[section] = body
    s = space.seeds
    single, combined = _seeds_yaml(s.single, s.single_design), _seeds_yaml(s.combined, s.combined_design)
    out["seeds"] = single if single == combined else {"single": single, "combined": combined}
    b = space.baselines
    out["baselines"] = {"enabled": b.enabled, "set": {yaml_key(k): v for k, v in b.overrides.items()}} \
        if b.overrides else b.enabled
    se = space.search
    search: dict[str, Any] = {"algorithm": se.algorithm}
    for key in ("num_samples", "sampler", "population_size", "max_concurrent"):
        if getattr(se, key) is not None:
            search[key] = getattr(se, key)
    search["seed"] = se.seed
    search["objectives"] = {o.metric: o.direction for o in se.objectives}
    if se.algorithm != "grid":
        search["confirm"] = {"top": se.confirm.top, "seeds": _confirm_seeds_yaml(se.confirm)} if se.confirm else False
    if not se.constraints:
        search["constraints"] = "conflict" if se.conflict else "none"
    else:
        items: list[Any] = ["conflict"] if se.conflict else []
        for c in se.constraints:
            item: dict[str, Any] = {"metric": c.metric, c.kind: c.threshold}
            if c.baseline:
                item["baseline"] = list(c.baseline)
            items.append(item)
        search["constraints"] = items
    out["search"] = search
    out["thresholds"] = space.thresholds.as_dict()
    out["resources"] = {"cpu": space.resources.cpu, "gpu": space.resources.gpu}
    return out


def _confirm_seeds_yaml(confirm: Confirm) -> Any:
    return _design_yaml(confirm.design) if confirm.design is not None else confirm.seeds


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if looks_numeric(data):  # our reader would turn it into a number: quote it
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def dump(space: Space) -> str:
    """The space as YAML text (see :func:`to_dict`)."""
    return yaml.dump(to_dict(space), Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)


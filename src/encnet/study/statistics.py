"""Statistics over seeds: mean ± std per configuration, and the mean paired difference to a baseline
configuration with its 95 % t-interval over the pairs."""

from __future__ import annotations

import statistics
from typing import Any

from scipy import stats

from encnet.study.records import METRICS, pair_key, percent

CONFIDENCE = 0.95


def interval(values: list[float]) -> tuple[float, float | None, float | None]:
    """Mean and its 95 % t-interval (None for fewer than two values, or bounds equal to the mean)."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, None, None
    sem = statistics.stdev(values) / len(values) ** 0.5
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(CONFIDENCE, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def mean_std(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(groups: dict[str, list[dict]], metrics: tuple[str, ...] = METRICS) -> list[dict]:
    """One row per configuration: n, seeds, and mean/std (in %) of each metric."""
    rows = []
    for name, records in groups.items():
        row = {"config": name, "n": len(records), "seeds": sorted(r.get("seed") for r in records)}
        for metric in metrics:
            row[metric] = mean_std([percent(metric) * r[metric] for r in records if metric in r])
        rows.append(row)
    return rows


def parse_baseline(text: str) -> tuple[str, str | None]:
    """``KEY=VALUE`` → (KEY, VALUE); a bare ``KEY`` → (KEY, None): the configuration that does not override KEY."""
    key, sep, value = text.partition("=")
    if not key or sep and not value:
        raise ValueError(f"--baseline must be KEY=VALUE (e.g. model=fcn) or KEY (e.g. model.warmup_steps: "
                         f"against the same configuration without that override), got {text!r}")
    return key, value if sep else None


def _key(token: str) -> str:
    return token.split("=", 1)[0]


def paired_differences(groups: dict[str, list[dict]], baseline: str, metrics: tuple[str, ...]) -> list[dict]:
    """Per configuration that has a baseline: the pairs shared with it and, per metric, the mean paired
    difference in % points with its 95 % t-interval (:func:`interval`), or None when no pair holds the metric.
    ``KEY=VALUE``: the baseline is the configuration with ``KEY=VALUE`` in place of its own value of KEY (else
    also without its ``KEY.*`` overrides), and a configuration with ``KEY=VALUE`` and ``KEY.*`` overrides is
    compared with the one without them (``--baseline model=encnet``: EncNet's variants against the default);
    [] when no configuration has a baseline (e.g. FCN runs alone). ``KEY``: each configuration that overrides
    KEY against the same one without."""
    key, value = parse_baseline(baseline)
    configs = {frozenset(name.split()): name for name in groups}
    if value is None:
        if not any(_key(t) == key for tokens in configs for t in tokens):
            raise ValueError(f"--baseline {key}: no configuration overrides it; configurations: {sorted(groups)}")
        bases = {name: configs.get(frozenset(t for t in tokens if _key(t) != key))
                 for tokens, name in configs.items() if any(_key(t) == key for t in tokens)}
    else:
        token = f"{key}={value}"
        if not any(token in tokens for tokens in configs):
            raise ValueError(f"--baseline {token}: no configuration has it; configurations: {sorted(groups)}")
        bases = {}
        for tokens, name in configs.items():
            own = frozenset(t for t in tokens if not t.startswith(f"{key}."))  # without its KEY.* overrides
            if token not in tokens:
                others = frozenset(t for t in tokens if _key(t) != key)
                bases[name] = configs.get(others | {token}) or configs.get(
                    frozenset(t for t in own if _key(t) != key) | {token})
            elif own != tokens:  # a variant of the baseline's own choice (model=encnet model.num_codes=0)
                bases[name] = configs.get(own)
    rows = []
    for name, base in bases.items():
        if base is None:
            continue
        ours = {pair_key(r): r for r in groups[name]}
        theirs = {pair_key(r): r for r in groups[base]}
        shared = [k for k in ours if k in theirs]
        row: dict[str, Any] = {"config": name, "baseline": base, "pairs": shared}
        for metric in metrics:
            diffs = [percent(metric) * (ours[k][metric] - theirs[k][metric]) for k in shared
                     if metric in ours[k] and metric in theirs[k]]
            row[metric] = (*interval(diffs), len(diffs)) if diffs else None
        rows.append(row)
    return rows


def format_difference(cell: tuple | None) -> str:
    """``+1.25 [−0.40, +2.90]`` (mean and 95 % interval), ``+1.25 (1 pair)``, or ``–``."""
    if cell is None:
        return "–"
    mean, low, high, _ = cell
    return f"{mean:+.2f} (1 pair)" if low is None else f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"

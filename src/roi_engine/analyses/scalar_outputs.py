"""Scalar model outputs for sensitivity analysis: ``X (n_draws, n_params) -> y (n_draws,)``.

An :class:`Output` names one number per draw: the NPV, the benefit per £1 invested, or one sector's
net position, for one intervention or the portfolio, as the scenario's perspective counts them (present
values, discounted). :func:`evaluator` turns a model and an output into the plain callable that the
sensitivity methods use, evaluated in chunks so memory stays bounded.

Text form (CLI ``--output``): ``npv``, ``benefit_per_pound``, ``net:nhs``, each optionally followed by
``@<intervention id>`` (default: the portfolio).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.accounting import cost_and_benefit
from roi_engine.model.evaluation import Model
from roi_engine.results.cube import PORTFOLIO
from roi_engine.results.metrics import safe_ratio

METRICS = ("npv", "benefit_per_pound", "net")


@dataclass(frozen=True)
class Output:
    """One scalar per draw.

    Attributes
    ----------
    metric : {'npv', 'benefit_per_pound', 'net'}
        ``net`` is one sector's net position and needs ``sector``.
    entity : str
        An intervention id or ``"portfolio"``.
    sector : str or None
    """

    metric: str = "npv"
    entity: str = PORTFOLIO
    sector: str | None = None

    @property
    def label(self) -> str:
        what = {"npv": "NPV", "benefit_per_pound": "benefit per £1",
                "net": f"net position of {self.sector}"}[self.metric]
        return f"{what} ({self.entity})"

    @property
    def unit(self) -> str:
        return "GBP returned per GBP 1" if self.metric == "benefit_per_pound" else "GBP"


def parse_output(text: str, model: Model) -> Output:
    """Read ``metric[:sector][@entity]`` and check the names against the model."""
    body, _, entity = text.partition("@")
    metric, _, sector = body.partition(":")
    metric, entity, sector = metric.strip(), entity.strip() or PORTFOLIO, sector.strip() or None
    if metric not in METRICS:
        raise InputError(f"unknown output '{metric}'", where="--output",
                         hint=did_you_mean(metric, METRICS) or f"one of {list(METRICS)}")
    if (metric == "net") != (sector is not None):
        raise InputError("give a sector with 'net' and only with it, e.g. net:nhs", where="--output")
    entities = [plan.spec.id for plan in model.plans] + [PORTFOLIO]
    if entity not in entities:
        raise InputError(f"unknown intervention '{entity}'", where="--output",
                         hint=did_you_mean(entity, entities) or f"one of {entities}")
    if sector is not None:
        model.scenario.sectors.require(sector, where="--output")
    return Output(metric, entity, sector)


def output_from_pv(model: Model, pv: np.ndarray, output: Output) -> np.ndarray:
    """The output from present values ``pv (n, I, S, 4)``; returns shape ``(n,)``."""
    if output.entity == PORTFOLIO:
        pv = pv.sum(axis=1)
    else:
        pv = pv[:, [p.spec.id for p in model.plans].index(output.entity)]
    cost, benefit = cost_and_benefit(pv, model.weights)  # (n, S)
    if output.metric == "net":
        s = model.scenario.sectors.index(output.sector)
        return benefit[:, s] - cost[:, s]
    if output.metric == "npv":
        return benefit.sum(axis=1) - cost.sum(axis=1)
    return safe_ratio(benefit.sum(axis=1), cost.sum(axis=1))


def evaluator(model: Model, output: Output, chunk_size: int | None = None
              ) -> Callable[[np.ndarray], np.ndarray]:
    """``f(X) -> y``: the output for parameter draws ``X (n, n_params)`` in ``model.names`` order."""
    chunk = chunk_size or model.scenario.spec.chunk_size

    def evaluate(x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        parts = [output_from_pv(model, model.evaluate(x[i:i + chunk]).pv, output)
                 for i in range(0, x.shape[0], chunk)]
        return np.concatenate(parts) if parts else np.empty(0)

    return evaluate

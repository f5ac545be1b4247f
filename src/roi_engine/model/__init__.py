"""The model: sampling parameters, the vectorised core, portfolio overlap, evaluation in chunks."""

from roi_engine.model.evaluation import Model, simulate

__all__ = ["Model", "simulate"]

"""Results of a run: the labelled cube and every metric derived from it."""

from roi_engine.results.cube import PORTFOLIO, Results, RunInfo, run

__all__ = ["PORTFOLIO", "Results", "RunInfo", "run"]

"""The B2B SaaS simulator: a realistic dataset whose churn probabilities are known exactly."""

from tenure.simulate.chain import STATES, MarkovChain, churn_probabilities
from tenure.simulate.config import SimulationConfig
from tenure.simulate.simulator import SimulationResult, simulate

__all__ = [
    "STATES",
    "MarkovChain",
    "SimulationConfig",
    "SimulationResult",
    "churn_probabilities",
    "simulate",
]

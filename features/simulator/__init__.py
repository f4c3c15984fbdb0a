"""Realistic simulated Red Financial Credit books: the project's test bed, demo and yardstick.

The simulator writes the six raw tables a bank would bring plus, separately, the ground truth
the generator used (see ``truth.py`` and ``docs/simulator.md``). It is the only code under
``features`` allowed to produce or read the ground truth.
"""

from features.simulator.config import SimulationConfig
from features.simulator.scenario import (
    BASELINE,
    CommonInnovations,
    Scenario,
    ScenarioError,
    Shock,
    load_scenario,
)
from features.simulator.simulate import SimulatedPortfolio, simulate_portfolio

__all__ = [
    "BASELINE",
    "CommonInnovations",
    "Scenario",
    "ScenarioError",
    "Shock",
    "SimulatedPortfolio",
    "SimulationConfig",
    "load_scenario",
    "simulate_portfolio",
]

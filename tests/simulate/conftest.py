"""Small seeded registries shared by the simulator tests (each is built once per session)."""

from __future__ import annotations

import pytest

from ldn_outcomes.simulate import SimulatedRegistry, SimulationParams, simulate_registry

#: A registry with every mechanism switched on and LDN use common enough to see effects.
BUSY = SimulationParams(patients=1500, years=4, seed=20261125).replace(
    uptake__base_start_per_year=0.3, uptake__supplement_base_start_per_year=0.3
)


@pytest.fixture(scope="session")
def busy_registry() -> SimulatedRegistry:
    return simulate_registry(BUSY)

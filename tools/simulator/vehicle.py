"""The car on the cable: a battery whose charging power follows a constant-current/constant-voltage curve.

Power is flat up to the taper point, then falls linearly to a trickle at 100 % state of charge, as an AC charge
into a modern EV does. Energy is what power delivers over real elapsed time, so meter values stay consistent.
"""

import math
import random
from dataclasses import dataclass

TAPER_FROM_SOC = 80.0
TRICKLE_W = 1000.0
NOMINAL_VOLTAGE_V = 230.0


@dataclass
class Vehicle:
    capacity_wh: float
    soc: float  # percent
    max_power_w: float  # what the car's on-board charger takes
    phases: int = 3

    @classmethod
    def arriving(cls, rng: random.Random) -> "Vehicle":
        return cls(
            capacity_wh=rng.choice([40_000, 58_000, 64_000, 77_000, 82_000]),
            soc=rng.uniform(10, 60),
            max_power_w=rng.choice([7_400, 11_000, 11_000, 22_000]),
            phases=rng.choice([3, 3, 3, 1]),
        )

    def power_w(self, station_limit_w: float) -> float:
        """Power drawn now at a connector offering `station_limit_w`."""
        limit = min(self.max_power_w, station_limit_w, self.phases * 32 * NOMINAL_VOLTAGE_V)
        if self.soc >= 100:
            return 0.0
        if self.soc <= TAPER_FROM_SOC:
            return limit
        share = (100 - self.soc) / (100 - TAPER_FROM_SOC)
        return max(TRICKLE_W, limit * share) if limit > TRICKLE_W else limit

    def charge(self, power_w: float, seconds: float) -> float:
        """Take `power_w` for `seconds`: the energy in Wh (never beyond a full battery)."""
        room_wh = self.capacity_wh * (100 - self.soc) / 100
        energy_wh = min(power_w * seconds / 3600, room_wh)
        self.soc = min(100.0, self.soc + 100 * energy_wh / self.capacity_wh)
        return energy_wh


def phase_current_a(power_w: float, phases: int, voltage_v: float) -> float:
    return power_w / (phases * voltage_v) if power_w else 0.0


def line_voltage_v(rng: random.Random) -> float:
    """A mains voltage with the small wander a real grid has."""
    return round(NOMINAL_VOLTAGE_V + rng.gauss(0, 1.5), 1)


def jittered(seconds: float, rng: random.Random, spread: float = 0.2) -> float:
    """`seconds` give or take `spread`, so virtual stations do not act in lockstep."""
    return max(0.0, seconds * (1 + rng.uniform(-spread, spread)))


def round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))

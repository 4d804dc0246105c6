"""The simulated car: realistic power over a charge, and energy that adds up."""

import random

from hypothesis import given
from hypothesis import strategies as st

from tools.simulator.vehicle import TAPER_FROM_SOC, TRICKLE_W, Vehicle, phase_current_a


def test_power_is_flat_until_the_taper_and_falls_towards_a_full_battery():
    car = Vehicle(capacity_wh=60_000, soc=20, max_power_w=11_000)
    assert car.power_w(22_000) == 11_000  # the car's on-board charger is the limit
    assert car.power_w(7_400) == 7_400  # the station's is
    car.soc = 90
    assert TRICKLE_W < car.power_w(22_000) < 11_000
    car.soc = 100
    assert car.power_w(22_000) == 0


def test_a_single_phase_car_draws_at_most_32_amps_on_one_phase():
    car = Vehicle(capacity_wh=40_000, soc=30, max_power_w=22_000, phases=1)
    assert car.power_w(22_000) == 32 * 230


@given(
    capacity=st.sampled_from([40_000, 77_000]),
    soc=st.floats(0, 100),
    power=st.floats(0, 22_000),
    seconds=st.floats(0, 7200),
)
def test_energy_is_power_over_time_and_never_overfills_the_battery(capacity, soc, power, seconds):
    car = Vehicle(capacity_wh=capacity, soc=soc, max_power_w=22_000)
    energy = car.charge(power, seconds)
    assert 0 <= energy <= power * seconds / 3600 + 1e-9
    assert car.soc <= 100
    assert abs(car.soc - soc - 100 * energy / capacity) < 1e-6


def test_a_charge_slows_past_the_taper_point():
    car = Vehicle(capacity_wh=40_000, soc=TAPER_FROM_SOC - 5, max_power_w=22_000)
    powers = []
    for _ in range(40):
        powers.append(car.power_w(22_000))
        car.charge(powers[-1], 120)
    assert powers[0] == 22_000 and powers[-1] < 22_000 and powers == sorted(powers, reverse=True)


def test_phase_current_follows_power_and_voltage():
    assert round(phase_current_a(11_040, 3, 230), 2) == 16.0
    assert phase_current_a(0, 3, 230) == 0


def test_arriving_cars_vary():
    rng = random.Random(1)
    cars = [Vehicle.arriving(rng) for _ in range(20)]
    assert len({car.capacity_wh for car in cars}) > 1 and all(10 <= car.soc <= 60 for car in cars)

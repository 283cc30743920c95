"""The simulated car's ECUs: the car's true state in, the real car's CAN traffic out, the stack's CAN commands
decoded into what the actuators do."""
from tools.sim.ecu.interface import CarCommands, CarTruth, DriverInputs
from tools.sim.ecu.toyota import ToyotaEcu

__all__ = ["CarCommands", "CarTruth", "DriverInputs", "ToyotaEcu"]

"""The built-in driving simulator's core: road, traffic, ego dynamics, camera and renderer, deterministic from a seed.

Pure Python, no messaging; processes wrap it (camera source, simulated car ECU, scripted driver). Start at
tools.sim.world.World. Kept import-free so `localpilot` commands that live here start fast.
"""

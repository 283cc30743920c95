"""Process replay regression: each deterministic process against its committed reference outputs.

The processes and their inputs, outputs and tolerances are the CONFIGS table in tools/replay/process_replay.py;
adding a process is one entry there, then `python -m tests.process_replay --update-refs --process NAME`.
"""

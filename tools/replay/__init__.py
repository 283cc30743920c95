"""Replaying recorded drives: into the live stack (replay), into one process in lock-step (process_replay), and
turning CAN logs from other loggers into routes (importer)."""

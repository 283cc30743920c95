"""Shared helpers for the tools: log files and their readers."""

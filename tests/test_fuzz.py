"""Bounded fuzzing of the server core (make fuzz runs the same for as long as asked)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
import fuzz  # noqa: E402


def test_fuzzed_apdus_never_crash_change_keys_or_counters():
    assert fuzz.run(seconds=15, seed=20261123) > 1000

"""Test doubles and harnesses shipped with the package: tests and the simulator use them."""

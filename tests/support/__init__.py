"""Test doubles and fixtures shared by every distribution's tests and by bench/."""

"""Tests of the numba analysis kernels."""

"""Tests of the media process's sans-IO parts."""

"""Tests of the Python code under scripts/ (pytest; run by scripts/test_scripts.sh and `make test`)."""

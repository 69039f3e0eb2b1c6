"""Servers infermeter ships for calibration and tests (not measured systems)."""

"""fleetaudit: audit a fleet of Raspberry Pis over SSH and report anomalies side by side."""

__version__ = "0.1.0"

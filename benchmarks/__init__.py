"""Benchmarks of fleetaudit against plain OpenSSH + tar and an Ansible playbook (see BENCHMARKS.md)."""

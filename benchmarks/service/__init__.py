"""Benchmarks of the HTTP service: ``python -m benchmarks.service.bench`` (report in this folder)."""

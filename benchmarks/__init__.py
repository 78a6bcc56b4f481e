"""Runnable benchmarks of VeriML's proof system: ``python -m benchmarks`` (``make bench``)."""

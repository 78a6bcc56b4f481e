"""HIPAA data controls (45 CFR 164.312) for organisations that handle PHI: encryption at rest
under per-organisation data keys, logged access, break-glass access, erasure with a tombstone.
See ``docs/compliance.md``."""

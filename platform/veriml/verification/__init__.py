"""Verification of proof files, for anyone, and of every proof a job stores."""

"""VeriML's proof system: a sumcheck/GKR prover and verifier over BabyBear with hash commitments.

This package is a standalone library: it never imports Django, Celery, ``platform`` or
``compliance``. The verifier needs numpy only; the compiler alone needs torch.
"""

__version__ = "0.1.0"

"""Finite fields: BabyBear (``base``) and its degree-4 extension (``ext``), the challenge field."""

from provers.field import base, ext

P = base.P

__all__ = ["P", "base", "ext"]

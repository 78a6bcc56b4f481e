"""Polynomials: dense multilinear extensions and univariate round polynomials."""

"""VeriML tests, mirroring the package tree."""

"""The model registry: uploaded models compiled for proving, and test sets for audits."""

"""Compliance layer: privacy toggles, HIPAA controls, regional policy and the audit log."""

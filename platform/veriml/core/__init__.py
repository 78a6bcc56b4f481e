"""Cross-cutting pieces of the platform: health checks and housekeeping tasks."""

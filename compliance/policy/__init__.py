"""Regional policy: every processing action of an organisation is decided under its home
region's versioned policy, and every decision is logged. See ``docs/compliance.md``."""

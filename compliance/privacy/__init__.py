"""Privacy toggles: per model, test set and job, which of weights, input and output stay
private; organisation defaults and minimums; a record of every change. See
``docs/compliance.md``."""

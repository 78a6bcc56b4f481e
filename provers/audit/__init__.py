"""Accuracy-audit proofs: the committed model, run on every sample of a committed test set,
predicts its label for the stated number of samples, per label.

Parts (each module's docstring has its mathematics):

* :mod:`.dataset` — the test set, quantised with the model's input quantisation, cut into
  chunks of S samples; each chunk's inputs and labels form one committed data table; the
  dataset digest names the model, n, the classes, S and every chunk commitment;
* :mod:`.argmax` — per chunk, the one-hot prediction (the lowest index of a maximum logit,
  proven by lookups on the differences), the one-hot label tied to the committed labels, and
  the per-label counts T_c (samples) and K_c (correct);
* :mod:`.prover` / :mod:`.verifier` — one transcript over all chunks: each chunk is the
  inference protocol (provers/inference) over a committed input instead of a public one, with
  the argmax relation instead of a public-output check, and one opening of its witness, the
  weights and its data table. The statement's counts are the sums of the chunks';
* :mod:`.statement`, :mod:`.proof` — the encodings.

Accuracy = Σ K_c / n; the verifier reports it with its 95% Wilson interval. Hiding the test
inputs needs the zero-knowledge mode (docs/zero-knowledge.md) and is refused until it exists.
"""

from provers.audit.dataset import DatasetCommitment, DatasetError, commit_dataset
from provers.audit.prover import prove
from provers.audit.verifier import verify_file, wilson_interval

__all__ = [
    "DatasetCommitment",
    "DatasetError",
    "commit_dataset",
    "prove",
    "verify_file",
    "wilson_interval",
]

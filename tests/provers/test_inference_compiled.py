"""Models compiled from PyTorch (provers/compiler) prove and verify end to end."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from provers.circuit import executor  # noqa: E402
from provers.compiler import compile_program, quantise_input  # noqa: E402
from provers.container import ProofFile  # noqa: E402
from provers.inference import commit_model, prove, verify_file  # noqa: E402


class SmallCnn(nn.Module):
    def __init__(self, pool: type[nn.Module]) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), pool(2), nn.Conv2d(4, 8, 3), nn.ReLU()
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 4 * 4, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), (64,)),
        (SmallCnn(nn.MaxPool2d), (1, 12, 12)),
        (SmallCnn(nn.AvgPool2d), (1, 12, 12)),
    ],
    ids=["mlp", "cnn-max", "cnn-avg"],
)
def test_a_compiled_model_proves_its_integer_outputs(
    module: nn.Module, shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    module.eval()
    program = torch.export.export(module, (torch.randn(2, *shape),))
    calibration = np.random.default_rng(0).normal(size=(16, *shape))
    model = compile_program(program, calibration).model
    inputs = quantise_input(model, np.random.default_rng(1).normal(size=(2, *shape))).astype(
        np.int64
    )
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), inputs)))
    assert statement["output"] == executor.run(model, inputs).tolist()

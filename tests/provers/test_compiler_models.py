"""Small models end to end: export, check, compile, run on the integer executor, compare.

Randomly initialised classifiers have nearly tied logits, so their top-1 agreement measures
int8 output ties as much as quantisation error; their bars are set accordingly and the
relative output error carries the weight. The trained digits MLP is the accuracy bar.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.ops import OpKind
from provers.compiler import CompileResult, check, compile_program, load_program, quantise_input
from provers.errors import CompileError


def export(
    module: nn.Module, sample_shape: tuple[int, ...], batch: int = 2
) -> torch.export.ExportedProgram:
    module.eval()
    return torch.export.export(module, (torch.randn(batch, *sample_shape),))


def relative_error(result: CompileResult) -> float:
    """Largest output error as a share of the output range."""
    model = result.model
    return result.fidelity["max_abs_error"] / (model.node(model.output).scale * 127)


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


class LeNet5(nn.Module):
    def __init__(self, pool: type[nn.Module]) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            pool(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            pool(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class TinyResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.branch = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1),
        )
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 5)
        generator = torch.Generator().manual_seed(7)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                with torch.no_grad():
                    module.running_mean.uniform_(-0.3, 0.3, generator=generator)
                    module.running_var.uniform_(0.5, 1.5, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.branch(x))
        x = torch.relu(self.down(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def test_an_mlp_compiles_and_matches_torch() -> None:
    torch.manual_seed(0)
    program = export(mlp(), (1, 28, 28))
    calibration = np.random.default_rng(0).random((128, 1, 28, 28))
    result = compile_program(program, calibration)
    assert [node.kind for node in result.model.nodes] == [
        OpKind.RESHAPE,
        OpKind.LINEAR,
        OpKind.LINEAR,
        OpKind.LINEAR,
    ]
    assert result.fidelity["samples"] == 128
    assert result.fidelity["top1_agreement"] >= 0.95
    assert relative_error(result) < 0.05


@pytest.mark.parametrize("pool", [nn.MaxPool2d, nn.AvgPool2d])
def test_lenet5_compiles_on_random_calibration(pool: type[nn.Module]) -> None:
    torch.manual_seed(1)
    program = export(LeNet5(pool), (1, 28, 28))
    calibration = np.random.default_rng(1).standard_normal((200, 1, 28, 28))
    result = compile_program(program, calibration)
    pool_kind = OpKind.MAXPOOL2D if pool is nn.MaxPool2d else OpKind.AVGPOOL2D
    assert [node.kind for node in result.model.nodes].count(pool_kind) == 2
    assert result.fidelity["top1_agreement"] >= 0.9
    assert relative_error(result) < 0.05


def test_a_residual_cnn_with_batch_norm_compiles() -> None:
    torch.manual_seed(2)
    module = TinyResidual()
    program = export(module, (3, 8, 8))
    calibration = np.random.default_rng(2).standard_normal((200, 3, 8, 8))
    result = compile_program(program, calibration)
    model_kinds = [node.kind for node in result.model.nodes]
    assert OpKind.ADD in model_kinds and OpKind.RELU not in model_kinds
    assert model_kinds.count(OpKind.CONV2D) == 4
    assert result.fidelity["top1_agreement"] >= 0.9
    assert relative_error(result) < 0.05


def test_the_decomposed_program_lowers_to_the_same_integers() -> None:
    torch.manual_seed(3)
    program = export(TinyResidual(), (3, 8, 8))
    calibration = np.random.default_rng(3).standard_normal((64, 3, 8, 8))
    direct = compile_program(program, calibration).model
    decomposed = compile_program(program.run_decompositions(), calibration).model
    assert [node.kind for node in decomposed.nodes] == [node.kind for node in direct.nodes]
    x = quantise_input(direct, calibration)
    assert np.array_equal(executor.run(direct, x), executor.run(decomposed, x))


def test_a_saved_program_loads_and_compiles_to_the_same_circuit(tmp_path: Path) -> None:
    torch.manual_seed(4)
    program = export(LeNet5(nn.MaxPool2d), (1, 28, 28))
    path = tmp_path / "lenet.pt2"
    torch.export.save(program, path)
    calibration = np.random.default_rng(4).standard_normal((32, 1, 28, 28))
    loaded = compile_program(load_program(path), calibration)
    assert loaded.model.circuit_digest == compile_program(program, calibration).model.circuit_digest
    assert "test_compiler_models.py" in loaded.model.nodes[0].source
    assert check(str(path)).circuit == check(program).circuit
    assert quantise_input(loaded.model, calibration).dtype == np.int8


def test_a_dynamic_batch_dimension_is_accepted(tmp_path: Path) -> None:
    module = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)
    ).eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(module, (torch.randn(2, 1, 6, 6),), dynamic_shapes=({0: batch},))
    torch.export.save(program, tmp_path / "dynamic.pt2")
    calibration = np.random.default_rng(5).standard_normal((10, 1, 6, 6))
    result = compile_program(load_program(tmp_path / "dynamic.pt2"), calibration)
    assert result.model.input_shape == (1, 6, 6)
    assert result.fidelity["samples"] == 10


def test_check_reports_size_and_estimate() -> None:
    report = check(export(mlp(), (1, 28, 28)))
    assert report.supported and not report.unsupported
    assert report.parameters == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert report.input_shape == (1, 28, 28) and report.output_shape == (10,)
    assert report.ops["aten.linear.default"] == 3
    assert report.circuit is not None and report.estimate is not None
    assert report.circuit["multiplications"] == 784 * 256 + 256 * 128 + 128 * 10
    assert report.circuit["lookups"] == 256 + 128 + 10
    assert report.circuit["nodes"] == 4
    assert report.circuit["largest_layer"]["multiplications"] == 784 * 256
    assert report.estimate["prove_seconds"] > 0 and report.estimate["peak_memory_bytes"] > 0
    assert json.loads(json.dumps(report.as_dict()))["supported"] is True


class Sorting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ordered = torch.sort(self.linear(x), dim=1).values
        return torch.exp(ordered)


def test_an_unsupported_op_is_named_with_its_node_and_source_line() -> None:
    program = export(Sorting(), (4,))
    with pytest.raises(CompileError) as raised:
        compile_program(program, np.zeros((4, 4)))
    message = str(raised.value)
    assert "aten.sort" in message and "node 'sort'" in message
    assert "test_compiler_models.py:" in message
    assert "Supported ops:" in message and "aten.conv2d" in message
    assert "aten.exp.default (node 'exp'" in message


def test_check_lists_unsupported_ops_without_raising() -> None:
    report = check(export(Sorting(), (4,)))
    assert not report.supported
    assert [(op.op, op.node) for op in report.unsupported] == [
        ("aten.sort.default", "sort"),
        ("aten.exp.default", "exp"),
    ]
    assert report.ops["aten.linear.default"] == 1
    assert report.circuit is None and report.estimate is None
    assert report.as_dict()["unsupported"][0]["source"].startswith("test_compiler_models.py:")


def test_a_model_exported_in_training_mode_is_refused_with_advice() -> None:
    module = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    module.train()
    program = torch.export.export(module, (torch.randn(2, 1, 5, 5),))
    with pytest.raises(CompileError, match=r"model\.eval\(\)"):
        compile_program(program, np.zeros((2, 1, 5, 5)))


def test_calibration_data_of_the_wrong_shape_is_refused() -> None:
    program = export(nn.Linear(3, 2), (3,))
    with pytest.raises(CompileError, match="calibration data of shape"):
        compile_program(program, np.zeros((5, 4)))


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    inputs = digits.data.astype(np.float32) / 16.0
    order = np.random.default_rng(0).permutation(len(inputs))
    train, test = order[:1200], order[1200:]
    return inputs[train], digits.target[train], inputs[test], digits.target[test]


def train_classifier(module: nn.Module, inputs: np.ndarray, labels: np.ndarray) -> None:
    """300 full-batch Adam steps of cross-entropy."""
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)
    features, targets = torch.from_numpy(inputs), torch.from_numpy(labels)
    for _ in range(300):
        optimiser.zero_grad()
        nn.functional.cross_entropy(module(features), targets).backward()
        optimiser.step()


def test_a_trained_digits_mlp_keeps_its_predictions_after_quantisation() -> None:
    train_x, train_y, test_x, test_y = digits_split()
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)
    )
    train_classifier(module, train_x, train_y)
    program = export(module, (64,), batch=1)
    result = compile_program(program, train_x.astype(np.float64))
    model = result.model
    quantised = executor.run(model, quantise_input(model, test_x)).argmax(axis=1)
    with torch.no_grad():
        floating = module(torch.from_numpy(test_x)).argmax(dim=1).numpy()
    assert np.mean(quantised == floating) >= 0.99
    assert np.mean(floating == test_y) >= 0.9
    assert result.fidelity["top1_agreement"] >= 0.99

"""Each supported op, compiled from a tiny torch module, against torch within its quantisation
tolerance.

Tolerances are derived from the compiled scales, not tuned: with input step s_x, per-channel
weight steps s_w,c and output step s_y, a weighted layer's error is at most
Σ_i |W_ci|·s_x/2 (input rounding) + Σ_i |x̂_i|·s_w,c/2 (weight rounding) + 1.5·s_y (bias
rounding, the requantisation's two roundings and its multiplier's relative error below 2^-14).
ReLU, max-pooling and reshapes are exact on integers, so only the input's rounding remains.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.ops import OpKind
from provers.compiler import CompileResult, compile_program, quantise_input

BATCH = 4
CALIBRATION = 64


def compiled(
    module: nn.Module, sample_shape: tuple[int, ...], seed: int = 0
) -> tuple[CompileResult, np.ndarray]:
    torch.manual_seed(seed)
    module.eval()
    program = torch.export.export(module, (torch.randn(BATCH, *sample_shape),))
    calibration = np.random.default_rng(seed).standard_normal((CALIBRATION, *sample_shape))
    return compile_program(program, calibration), calibration


def errors(module: nn.Module, result: CompileResult, x: np.ndarray) -> np.ndarray:
    model = result.model
    got = executor.run(model, quantise_input(model, x)) * model.node(model.output).scale
    with torch.no_grad():
        expected = module(torch.from_numpy(x).float()).double().numpy()
    return np.abs(got - expected)


def weighted_tolerance(
    weight: torch.Tensor, input_scale: float, output_scale: float, x_peak: float
) -> float:
    rows = weight.detach().double().reshape(weight.shape[0], -1).abs()
    weight_steps = rows.max(dim=1).values / 127
    input_error = float(rows.sum(dim=1).max()) * input_scale / 2
    weight_error = float((rows.shape[1] * x_peak * weight_steps / 2).max())
    return input_error + weight_error + 1.5 * output_scale


def kinds(result: CompileResult) -> list[OpKind]:
    return [node.kind for node in result.model.nodes]


def output_scale(result: CompileResult) -> float:
    return result.model.node(result.model.output).scale


@pytest.mark.parametrize("relu", [False, True])
def test_linear_matches_torch_within_tolerance(relu: bool) -> None:
    layer = nn.Linear(12, 7)
    module = nn.Sequential(layer, nn.ReLU()) if relu else layer
    result, x = compiled(module, (12,))
    tolerance = weighted_tolerance(
        layer.weight, result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(module, result, x).max() <= tolerance
    assert kinds(result) == [OpKind.LINEAR]
    requant = result.model.nodes[0].requant
    assert requant is not None and requant.relu is relu


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [(3, 1, 0), (3, 1, 1), (3, 2, 0), (3, 2, 1), ((3, 2), (2, 1), (1, 0)), (5, 3, 2), (1, 1, 0)],
)
def test_conv2d_matches_torch_for_each_stride_and_padding(
    kernel: object, stride: object, padding: object
) -> None:
    conv = nn.Conv2d(3, 5, kernel, stride=stride, padding=padding)
    result, x = compiled(conv, (3, 9, 9), seed=1)
    tolerance = weighted_tolerance(
        conv.weight, result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(conv, result, x).max() <= tolerance
    assert kinds(result) == [OpKind.CONV2D]


def test_conv2d_with_same_padding_string() -> None:
    conv = nn.Conv2d(2, 4, 3, padding="same")
    result, x = compiled(conv, (2, 6, 6))
    tolerance = weighted_tolerance(
        conv.weight, result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(conv, result, x).max() <= tolerance
    assert result.model.nodes[0].padding == (1, 1)


def test_a_relu_on_the_input_is_exact_on_integers() -> None:
    module = nn.ReLU()
    result, x = compiled(module, (2, 3, 3))
    assert kinds(result) == [OpKind.RELU]
    assert errors(module, result, x).max() <= result.input_scale / 2 + 1e-9


@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 1), (3, 2), ((2, 3), (1, 2))])
def test_max_pool_is_exact_on_integers(kernel: object, stride: object) -> None:
    module = nn.MaxPool2d(kernel, stride)
    result, x = compiled(module, (2, 7, 7))
    assert kinds(result) == [OpKind.MAXPOOL2D]
    assert errors(module, result, x).max() <= result.input_scale / 2 + 1e-9


@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 3), (3, 1), (2, 1)])
def test_avg_pool_rounds_once(kernel: int, stride: int) -> None:
    module = nn.AvgPool2d(kernel, stride)
    result, x = compiled(module, (2, 6, 6))
    assert kinds(result) == [OpKind.AVGPOOL2D]
    assert errors(module, result, x).max() <= result.input_scale / 2 + output_scale(result)


def test_global_average_pooling_becomes_one_average_pool() -> None:
    module = nn.AdaptiveAvgPool2d(1)
    result, x = compiled(module, (3, 4, 4))
    assert kinds(result) == [OpKind.AVGPOOL2D]
    assert result.model.nodes[0].kernel == (4, 4)
    assert errors(module, result, x).max() <= result.input_scale / 2 + output_scale(result)


def test_flatten_keeps_values_and_order() -> None:
    module = nn.Sequential(nn.Flatten(), nn.ReLU())
    result, x = compiled(module, (2, 3, 4))
    assert kinds(result) == [OpKind.RESHAPE, OpKind.RELU]
    assert result.model.nodes[0].output_shape == (24,)
    assert errors(module, result, x).max() <= result.input_scale / 2 + 1e-9


class AddOfTwoScales(nn.Module):
    """A residual add whose operands have different scales (the conv's and the input's)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.mul_(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv(x))


def test_residual_add_aligns_two_scales() -> None:
    module = AddOfTwoScales()
    result, x = compiled(module, (2, 5, 5))
    assert kinds(result) == [OpKind.CONV2D, OpKind.ADD]
    add = result.model.nodes[1]
    assert add.requant is not None and add.requant.relu
    assert add.add_multipliers[0] != add.add_multipliers[1]
    conv_scale = result.model.nodes[0].scale
    conv_error = weighted_tolerance(
        module.conv.weight, result.input_scale, conv_scale, np.abs(x).max()
    )
    tolerance = conv_error + result.input_scale / 2 + 1.5 * output_scale(result)
    assert errors(module, result, x).max() <= tolerance


def random_statistics(norm: nn.BatchNorm2d | nn.BatchNorm1d, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    channels = norm.num_features
    with torch.no_grad():
        norm.running_mean.copy_(torch.rand(channels, generator=generator) - 0.5)
        norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
        norm.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
        norm.bias.copy_(torch.rand(channels, generator=generator) - 0.5)


def folded_weight(
    conv: nn.Conv2d | nn.Linear, norm: nn.BatchNorm2d | nn.BatchNorm1d
) -> torch.Tensor:
    factor = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return conv.weight * factor.reshape((-1,) + (1,) * (conv.weight.dim() - 1))


def test_batch_norm_folds_into_the_preceding_conv() -> None:
    conv, norm = nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4)
    random_statistics(norm, 3)
    module = nn.Sequential(conv, norm, nn.ReLU())
    result, x = compiled(module, (2, 6, 6))
    assert kinds(result) == [OpKind.CONV2D]
    assert "batch_norm" in result.model.nodes[0].source
    tolerance = weighted_tolerance(
        folded_weight(conv, norm), result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(module, result, x).max() <= tolerance


def test_batch_norm_folds_into_the_preceding_linear() -> None:
    linear, norm = nn.Linear(6, 5), nn.BatchNorm1d(5)
    random_statistics(norm, 4)
    module = nn.Sequential(linear, norm)
    result, x = compiled(module, (6,))
    assert kinds(result) == [OpKind.LINEAR]
    tolerance = weighted_tolerance(
        folded_weight(linear, norm), result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(module, result, x).max() <= tolerance


def test_a_batch_norm_with_nothing_to_fold_into_becomes_a_diagonal_conv() -> None:
    norm = nn.BatchNorm2d(3)
    random_statistics(norm, 5)
    result, x = compiled(norm, (3, 4, 4))
    assert kinds(result) == [OpKind.CONV2D]
    assert result.model.nodes[0].kernel == (1, 1)
    factor = torch.diag(norm.weight / torch.sqrt(norm.running_var + norm.eps))[:, :, None, None]
    tolerance = weighted_tolerance(
        factor, result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(norm, result, x).max() <= tolerance


def test_dropout_and_identities_are_removed() -> None:
    module = nn.Sequential(nn.Dropout(0.5), nn.Identity(), nn.Linear(4, 3), nn.Dropout(0.2))
    result, x = compiled(module, (4,))
    assert kinds(result) == [OpKind.LINEAR]
    layer = module[2]
    assert isinstance(layer, nn.Linear)
    tolerance = weighted_tolerance(
        layer.weight, result.input_scale, output_scale(result), np.abs(x).max()
    )
    assert errors(module, result, x).max() <= tolerance

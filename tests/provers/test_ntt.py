"""The NTT and Reed–Solomon encoding against their O(n^2) definitions."""

from __future__ import annotations

import numpy as np
import pytest

from provers.field import base
from provers.poly import ntt

P = base.P


def naive_dft(coefficients: np.ndarray) -> np.ndarray:
    """Σ_i c_i·ω_n^{ij} for every row, in exact Python integers."""
    n = coefficients.shape[-1]
    root = base.root_of_unity(n.bit_length() - 1)
    out = np.zeros_like(coefficients)
    for row_index, row in enumerate(coefficients.tolist()):
        for j in range(n):
            point = pow(root, j, P)
            out[row_index, j] = sum(c * pow(point, i, P) for i, c in enumerate(row)) % P
    return out


def horner(coefficients: list[int], point: int) -> int:
    acc = 0
    for c in reversed(coefficients):
        acc = (acc * point + c) % P
    return acc


@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 4, 5, 6])
def test_forward_matches_the_naive_dft(log_n: int) -> None:
    rng = np.random.default_rng(log_n)
    coefficients = base.random((3, 1 << log_n), rng)
    assert np.array_equal(ntt.forward(coefficients), naive_dft(coefficients))


@pytest.mark.parametrize("log_n", [0, 1, 4, 9, 12])
def test_inverse_undoes_forward_and_forward_undoes_inverse(log_n: int) -> None:
    rng = np.random.default_rng(100 + log_n)
    values = base.random((5, 1 << log_n), rng)
    assert np.array_equal(ntt.inverse(ntt.forward(values)), values)
    assert np.array_equal(ntt.forward(ntt.inverse(values)), values)


def test_transforms_of_many_rows_match_row_by_row_transforms() -> None:
    rng = np.random.default_rng(7)
    # Enough rows that the transform works through several row blocks.
    matrix = base.random((70, 2048), rng)
    together = ntt.forward(matrix)
    for row_index in (0, 31, 32, 69):
        assert np.array_equal(together[row_index], ntt.forward(matrix[row_index]))


def test_forward_of_edge_values_is_exact() -> None:
    edges = np.array([[0, 1, P - 1, P - 2, 1, 0, P - 1, 2]], dtype=np.int64)
    assert np.array_equal(ntt.forward(edges), naive_dft(edges))


@pytest.mark.parametrize(("k", "n"), [(1, 2), (3, 8), (8, 16), (20, 64)])
def test_rs_encode_evaluates_the_row_polynomial_on_the_subgroup(k: int, n: int) -> None:
    rng = np.random.default_rng(k * n)
    rows = base.random((2, k), rng)
    codewords = ntt.rs_encode(rows, n)
    for row, codeword in zip(rows.tolist(), codewords.tolist(), strict=True):
        expected = [horner(row, ntt.domain_point(n, j)) for j in range(n)]
        assert codeword == expected


def test_rs_encode_of_a_challenge_field_row_encodes_each_coefficient() -> None:
    rng = np.random.default_rng(3)
    row = base.random((4, 10), rng)
    encoded = ntt.rs_encode(row, 32)
    for c in range(4):
        assert np.array_equal(encoded[c], ntt.rs_encode(row[c], 32))


def test_codewords_have_no_coefficients_above_the_message_length() -> None:
    rng = np.random.default_rng(4)
    codeword = ntt.rs_encode(base.random((1, 12), rng), 64)
    coefficients = ntt.inverse(codeword)
    assert not coefficients[:, 12:].any()


def test_the_transform_runs_unchanged_on_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    values = base.random((3, 256), rng)
    result = ntt.forward(torch.from_numpy(values))
    assert isinstance(result, torch.Tensor)
    assert np.array_equal(result.numpy(), ntt.forward(values))
    assert np.array_equal(ntt.inverse(result).numpy(), values)


@pytest.mark.parametrize("n", [0, 3, 12, 1 << 28])
def test_sizes_that_are_not_supported_powers_of_two_are_refused(n: int) -> None:
    with pytest.raises(ValueError):
        ntt._check_size(n)


def test_a_message_longer_than_the_codeword_is_refused() -> None:
    with pytest.raises(ValueError):
        ntt.rs_encode(np.zeros((1, 9), dtype=np.int64), 8)


@pytest.mark.gpu
def test_the_transform_runs_on_a_cuda_device() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(6)
    values = base.random((64, 4096), rng)
    on_device = torch.from_numpy(values).cuda()
    encoded = ntt.rs_encode(on_device, 8192)
    assert encoded.device.type == "cuda"
    assert np.array_equal(encoded.cpu().numpy(), ntt.rs_encode(values, 8192))


@pytest.mark.parametrize(("rows", "k", "n"), [(1, 1, 2), (3, 5, 8), (70, 100, 256), (2, 512, 512)])
def test_column_major_encoding_matches_row_encoding(rows: int, k: int, n: int) -> None:
    rng = np.random.default_rng(rows + k + n)
    messages = base.random((rows, k), rng)
    columns = ntt.rs_encode_columns(messages, n)
    assert columns.dtype == np.dtype("<u4")
    assert np.array_equal(columns.astype(np.int64), ntt.rs_encode(messages, n).T)


def test_column_major_encoding_of_edge_values_is_exact() -> None:
    messages = np.array([[P - 1] * 16, [0, 1] * 8, [P - 1, 0] * 8], dtype=np.int64)
    expected = ntt.rs_encode(messages, 32).T
    assert np.array_equal(ntt.rs_encode_columns(messages, 32).astype(np.int64), expected)

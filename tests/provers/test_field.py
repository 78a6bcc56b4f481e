"""Field axioms by property tests, edge values, and the numpy/torch agreement of the arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provers.field import base, ext

P = base.P
EDGE = [0, 1, 2, P - 2, P - 1, P // 2, (P + 1) // 2]
elements = st.one_of(st.sampled_from(EDGE), st.integers(0, P - 1))
ext_elements = st.lists(elements, min_size=4, max_size=4).map(lambda c: np.array(c, dtype=np.int64))


def b(x: int) -> np.ndarray:
    return np.array(x, dtype=np.int64)


def reference_ext_mul(u: np.ndarray, v: np.ndarray) -> list[int]:
    coeffs = [0] * 7
    for i in range(4):
        for j in range(4):
            coeffs[i + j] += int(u[i]) * int(v[j])
    for k in range(6, 3, -1):
        coeffs[k - 4] += ext.W * coeffs[k]
    return [c % P for c in coeffs[:4]]


@given(elements, elements)
def test_base_add_and_mul_match_integer_arithmetic(x: int, y: int) -> None:
    assert int(base.add(b(x), b(y))) == (x + y) % P
    assert int(base.sub(b(x), b(y))) == (x - y) % P
    assert int(base.mul(b(x), b(y))) == (x * y) % P
    assert int(base.neg(b(x))) == (-x) % P


@given(elements, elements, elements)
def test_base_field_axioms_hold(x: int, y: int, z: int) -> None:
    X, Y, Z = b(x), b(y), b(z)
    assert int(base.mul(X, base.add(Y, Z))) == int(base.add(base.mul(X, Y), base.mul(X, Z)))
    assert int(base.mul(base.mul(X, Y), Z)) == int(base.mul(X, base.mul(Y, Z)))
    assert int(base.add(X, base.neg(X))) == 0


@given(elements.filter(lambda v: v != 0))
def test_base_inverse_is_the_multiplicative_inverse(x: int) -> None:
    assert int(base.mul(b(x), base.inv(b(x)))) == 1


def test_base_edge_values() -> None:
    assert int(base.mul(b(P - 1), b(P - 1))) == 1
    assert int(base.add(b(P - 1), b(1))) == 0
    assert int(base.sub(b(0), b(1))) == P - 1
    assert int(base.inv(b(0))) == 0


def test_base_batch_inverse_agrees_and_refuses_zero() -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 17, 1000):
        values = base.random(n, rng)
        values[values == 0] = 1
        assert np.array_equal(base.batch_inv(values), base.inv(values))
    with pytest.raises(ZeroDivisionError):
        base.batch_inv(np.array([1, 0, 3], dtype=np.int64))


def test_roots_of_unity_have_the_stated_order() -> None:
    for log_n in (1, 5, 27):
        w = base.root_of_unity(log_n)
        assert pow(w, 1 << log_n, P) == 1
        assert pow(w, 1 << (log_n - 1), P) == P - 1
    with pytest.raises(ValueError):
        base.root_of_unity(28)


def test_extension_modulus_is_irreducible() -> None:
    # x^4 − 11 is irreducible iff 11 is a non-square and p ≡ 1 mod 4.
    assert pow(ext.W, (P - 1) // 2, P) == P - 1
    assert P % 4 == 1


@given(ext_elements, ext_elements)
def test_ext_mul_matches_schoolbook_reduction(u: np.ndarray, v: np.ndarray) -> None:
    assert ext.mul(u, v).tolist() == reference_ext_mul(u, v)


@given(ext_elements, ext_elements, ext_elements)
def test_ext_field_axioms_hold(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
    assert ext.equal(ext.mul(u, v), ext.mul(v, u))
    assert ext.equal(ext.mul(ext.mul(u, v), w), ext.mul(u, ext.mul(v, w)))
    assert ext.equal(ext.mul(u, ext.add(v, w)), ext.add(ext.mul(u, v), ext.mul(u, w)))
    assert ext.equal(ext.add(u, ext.neg(u)), ext.zero())
    assert ext.equal(ext.mul(u, ext.one()), u)


@given(ext_elements.filter(lambda e: bool(e.any())))
def test_ext_inverse_is_the_multiplicative_inverse(u: np.ndarray) -> None:
    assert ext.equal(ext.mul(u, ext.inv(u)), ext.one())


def test_ext_products_of_maximal_coefficients_do_not_overflow() -> None:
    top = np.full(4, P - 1, dtype=np.int64)
    assert ext.mul(top, top).tolist() == reference_ext_mul(top, top)
    vec = np.full((4, 100_000), P - 1, dtype=np.int64)
    assert ext.equal(ext.mul(vec, vec)[:, -1], ext.mul(top, top))


def test_ext_vector_operations_broadcast_a_single_element() -> None:
    rng = np.random.default_rng(3)
    vec, scalar = ext.random(40_000, rng), ext.random((), rng)
    product = ext.mul(vec, scalar)
    for i in (0, 1, 39_999):
        assert ext.equal(product[:, i], ext.mul(vec[:, i], scalar))
    assert ext.equal(ext.batch_inv(vec[:, :1001]), ext.inv(vec[:, :1001]))
    powers = ext.powers(scalar, 33)
    assert ext.equal(powers[:, 32], ext.pow_(scalar, 32))


def test_ext_bytes_round_trip() -> None:
    rng = np.random.default_rng(5)
    vec = ext.random(9, rng)
    assert ext.equal(ext.from_bytes(ext.to_bytes(vec), 9), vec)


def test_torch_tensors_give_the_same_results_as_numpy() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    u, v = ext.random(513, rng), ext.random(513, rng)
    tu, tv = torch.from_numpy(u), torch.from_numpy(v)
    assert ext.equal(ext.mul(tu, tv), ext.mul(u, v))
    assert ext.equal(ext.inv(tu), ext.inv(u))
    assert ext.equal(ext.batch_inv(tu), ext.batch_inv(u))
    x, y = base.random(100, rng), base.random(100, rng)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    assert np.array_equal(base.mul(tx, ty).numpy(), base.mul(x, y))
    assert np.array_equal(base.sub(tx, ty).numpy(), base.sub(x, y))


@pytest.mark.gpu
def test_cuda_tensors_give_the_same_results_as_numpy() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(13)
    u, v = ext.random(1 << 16, rng), ext.random(1 << 16, rng)
    tu, tv = torch.from_numpy(u).cuda(), torch.from_numpy(v).cuda()
    assert ext.equal(ext.mul(tu, tv), ext.mul(u, v))
    assert ext.equal(ext.batch_inv(tu[:, :999]), ext.batch_inv(u[:, :999]))


@settings(max_examples=50)
@given(st.integers(min_value=-(P // 2), max_value=P // 2))
def test_signed_values_round_trip(v: int) -> None:
    assert int(base.to_signed(base.from_signed(b(v)))) == v

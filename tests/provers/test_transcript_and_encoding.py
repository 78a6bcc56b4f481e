"""The Fiat–Shamir transcript and the canonical encoding of proof parts."""

from __future__ import annotations

import numpy as np
import pytest

from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.transcript import Transcript


def test_the_same_messages_give_the_same_challenges() -> None:
    one, two = Transcript("t"), Transcript("t")
    for t in (one, two):
        t.absorb_base("v", np.arange(5, dtype=np.int64))
    assert ext.equal(one.challenge_ext("c"), two.challenge_ext("c"))


@pytest.mark.parametrize(
    "variant",
    ["domain", "label", "value", "shape", "split"],
)
def test_any_difference_in_what_was_absorbed_changes_the_challenge(variant: str) -> None:
    def run(domain: str, label: str, values: np.ndarray, split: bool) -> np.ndarray:
        t = Transcript(domain)
        if split:
            t.absorb_base(label, values[:2])
            t.absorb_base(label, values[2:])
        else:
            t.absorb_base(label, values)
        return t.challenge_ext("c")

    values = np.arange(4, dtype=np.int64)
    reference = run("d", "x", values, False)
    changed = {
        "domain": run("e", "x", values, False),
        "label": run("d", "y", values, False),
        "value": run("d", "x", values + 1, False),
        "shape": run("d", "x", values.reshape(2, 2), False),
        "split": run("d", "x", values, True),
    }[variant]
    assert not ext.equal(reference, changed)


def test_successive_challenges_differ_and_are_canonical() -> None:
    t = Transcript("t")
    a, b = t.challenge_ext("c"), t.challenge_ext("c")
    assert not ext.equal(a, b)
    many = t.challenge_exts("m", 2000)
    assert many.shape == (4, 2000) and base.is_canonical(many)


def test_challenge_coefficients_look_uniform() -> None:
    t = Transcript("uniform")
    draws = t.challenge_exts("u", 20_000).reshape(-1)
    counts = np.bincount((draws * 16 // base.P).astype(np.int64), minlength=16)
    expected = draws.size / 16
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 50.0  # 15 degrees of freedom; p ≈ 1e-5 at 50


def test_indices_are_below_the_bound() -> None:
    idx = Transcript("t").challenge_indices("q", 500, 37)
    assert len(idx) == 500 and min(idx) >= 0 and max(idx) < 37 and len(set(idx)) == 37


def test_writer_and_reader_round_trip() -> None:
    rng = np.random.default_rng(0)
    vec, evec = base.random(7, rng), ext.random(3, rng)
    w = Writer()
    w.u8(3)
    w.u32(70000)
    w.u64(1 << 40)
    w.raw(b"\xaa" * 32)
    w.blob(b"hello")
    w.base_vec(vec)
    w.ext_elem(evec[:, 0])
    w.ext_vec(evec)
    r = Reader(w.getvalue())
    assert (r.u8(), r.u32(), r.u64(), r.raw(32)) == (3, 70000, 1 << 40, b"\xaa" * 32)
    assert r.blob("b", 10) == b"hello"
    assert np.array_equal(r.base_vec("v"), vec)
    assert ext.equal(r.ext_elem("e"), evec[:, 0])
    assert ext.equal(r.ext_vec("ev"), evec)
    r.finish()


def _reject(data: bytes, read) -> Reject:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError) as info:
        read(Reader(data))
    return info.value.reason


def test_reader_rejects_truncation_non_canonical_values_and_huge_counts() -> None:
    w = Writer()
    w.base_vec(np.arange(4, dtype=np.int64))
    good = w.getvalue()
    assert _reject(good[:-1], lambda r: r.base_vec("v")) is Reject.TRUNCATED
    bad_value = good[:4] + (base.P).to_bytes(4, "little") + good[8:]
    assert _reject(bad_value, lambda r: r.base_vec("v")) is Reject.NON_CANONICAL_FIELD_ELEMENT
    huge = (0xFFFFFFFF).to_bytes(4, "little")
    assert (
        _reject(huge, lambda r: r.base_vec("v", max_count=1 << 20)) is Reject.LENGTH_OUT_OF_BOUNDS
    )
    assert _reject(good, lambda r: r.base_vec("v", expected=5)) is Reject.LENGTH_OUT_OF_BOUNDS

    def read_all(r: Reader) -> None:
        r.base_vec("v")
        r.finish()

    assert _reject(good + b"\x00", read_all) is Reject.TRAILING_BYTES
    assert _reject(b"", lambda r: r.u64()) is Reject.TRUNCATED


def test_reader_refuses_non_bytes() -> None:
    with pytest.raises(VerificationError):
        Reader("not bytes")  # type: ignore[arg-type]

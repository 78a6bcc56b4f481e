"""The ``veriml`` command end to end on real torch models: check, compile, prove, verify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from provers import cli  # noqa: E402


class LeNet(torch.nn.Module):  # type: ignore[misc]
    def __init__(self, pool: type) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 5, padding=2),
            torch.nn.ReLU(),
            pool(2, 2),
            torch.nn.Conv2d(6, 16, 5),
            torch.nn.ReLU(),
            pool(2, 2),
        )
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(16 * 5 * 5, 120),
            torch.nn.ReLU(),
            torch.nn.Linear(120, 84),
            torch.nn.ReLU(),
            torch.nn.Linear(84, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )


MODELS = {
    "mlp": (_mlp, (784,)),
    "lenet_avg": (lambda: LeNet(torch.nn.AvgPool2d), (1, 28, 28)),
    "lenet_max": (lambda: LeNet(torch.nn.MaxPool2d), (1, 28, 28)),
}


def _export(name: str, folder: Path) -> tuple[Path, Path, Path]:
    torch.manual_seed(7)
    make, shape = MODELS[name]
    model = make().eval()
    program = torch.export.export(model, (torch.randn(1, *shape),))
    pt2 = folder / f"{name}.pt2"
    torch.export.save(program, str(pt2))
    rng = np.random.default_rng(3)
    calibration = folder / "calibration.npz"
    np.savez(calibration, inputs=rng.normal(size=(32, *shape)).astype(np.float32))
    sample = folder / "input.npz"
    np.savez(sample, inputs=rng.normal(size=(2, *shape)).astype(np.float32))
    return pt2, calibration, sample


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_compiles_proves_and_verifies_through_the_cli(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pt2, calibration, sample = _export(name, tmp_path)
    assert cli.main(["check", str(pt2)]) == 0
    vmc, proof = tmp_path / "model.vmc", tmp_path / "proof.vmp"
    assert cli.main(["compile", str(pt2), "--calibration", str(calibration), "-o", str(vmc)]) == 0
    digest = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert cli.main(["prove", str(vmc), str(sample), "-o", str(proof), "--nonce", "00ff"]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(proof), "--model", digest, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["statement"]["model_digest"] == digest
    assert report["statement"]["batch"] == 2
    assert report["statement"]["nonce"] == "00ff"
    assert cli.main(["verify", str(proof), "--model", "ab" * 32]) == 1
    tampered = bytearray(proof.read_bytes())
    tampered[-40] ^= 1
    proof.write_bytes(bytes(tampered))
    assert cli.main(["verify", str(proof)]) == 1


PRIVACY_MODES = [
    "input",
    "output",
    "input,output",
    "weights",
    "weights,input",
    "weights,output",
    "weights,input,output",
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("private", PRIVACY_MODES)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_round_trips_through_the_cli_in_each_privacy_mode(
    name: str, private: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pt2, calibration, sample = _export(name, tmp_path)
    vmc, proof = tmp_path / "model.vmc", tmp_path / "proof.vmp"
    compile_ = ["compile", str(pt2), "--calibration", str(calibration), "-o", str(vmc)]
    hidden = "weights" in private
    assert cli.main(compile_ + (["--private-weights", "--proofs", "4"] if hidden else [])) == 0
    digest = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    command = ["prove", str(vmc), str(sample), "-o", str(proof), "--private", private]
    assert cli.main(command) == 0
    printed = capsys.readouterr().out
    assert ("hidden by zero knowledge" in printed) == ("output" in private)
    assert cli.main(["verify", str(proof), "--model", digest, "--json"]) == 0
    statement = json.loads(capsys.readouterr().out)["statement"]
    assert sorted(statement["private"]) == sorted(private.split(","))
    assert (statement["output"] is None) == ("output" in private)
    assert cli.main(["verify", str(proof), "--model", "ab" * 32]) == 1
    tampered = bytearray(proof.read_bytes())
    tampered[-40] ^= 1
    proof.write_bytes(bytes(tampered))
    assert cli.main(["verify", str(proof)]) == 1


def test_a_hidden_weights_model_spends_one_proof_of_its_budget_per_proof_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The .vmc records each spent ticket, so the budget holds across processes; the model's
    proofs hide its weights without being asked; its zero-knowledge range proof verifies."""
    pt2, calibration, sample = _export("mlp", tmp_path)
    vmc, proof = tmp_path / "model.vmc", tmp_path / "proof.vmp"
    compile_ = ["compile", str(pt2), "--calibration", str(calibration), "-o", str(vmc)]
    assert cli.main([*compile_, "--private-weights", "--proofs", "2"]) == 0
    assert "for 2 zero-knowledge proofs" in capsys.readouterr().out
    for _ in range(2):
        assert cli.main(["prove", str(vmc), str(sample), "-o", str(proof)]) == 0
        assert cli.main(["verify", str(proof), "--json"]) == 0
        statement = json.loads(capsys.readouterr().out.split("\n", 3)[-1])["statement"]
        assert statement["private"] == ["weights"]
    proof.unlink()
    assert cli.main(["prove", str(vmc), str(sample), "-o", str(proof)]) == 2
    assert "served all 2 proofs" in capsys.readouterr().err
    assert not proof.exists()
    range_proof = tmp_path / "range.vmp"
    command = [*compile_, "--private-weights", "--range-proof", str(range_proof)]
    assert cli.main(command) == 0
    digest = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert cli.main(["verify", str(range_proof), "--model", digest]) == 0
    assert "proven int8" in capsys.readouterr().out


def _gelu_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.GELU(), torch.nn.Linear(32, 10))


def test_private_modes_the_prover_lacks_are_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GELU has no private relation yet; private weights need a hidden commitment."""
    monkeypatch.setitem(MODELS, "gelu", (_gelu_mlp, (784,)))
    pt2, calibration, sample = _export("gelu", tmp_path)
    vmc, proof = tmp_path / "model.vmc", tmp_path / "proof.vmp"
    assert cli.main(["compile", str(pt2), "--calibration", str(calibration), "-o", str(vmc)]) == 0
    capsys.readouterr()
    assert cli.main(["prove", str(vmc), str(sample), "-o", str(proof), "--private", "input"]) == 2
    assert "MLPs and CNNs" in capsys.readouterr().err
    command = ["prove", str(vmc), str(sample), "-o", str(proof), "--private", "weights"]
    assert cli.main(command) == 2
    assert "weights" in capsys.readouterr().err
    assert not proof.exists()


def test_an_unsupported_op_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Sorts(torch.nn.Module):  # type: ignore[misc]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(x, dim=-1).values

    program = torch.export.export(Sorts(), (torch.randn(1, 8),))
    pt2 = tmp_path / "sorts.pt2"
    torch.export.save(program, str(pt2))
    calibration = tmp_path / "calibration.npz"
    np.savez(calibration, inputs=np.zeros((4, 8), dtype=np.float32))
    assert cli.main(["check", str(pt2)]) == 2
    assert "sort" in capsys.readouterr().out
    assert cli.main(["compile", str(pt2), "--calibration", str(calibration), "-o", "x.vmc"]) == 2
    message = capsys.readouterr().err
    assert "sort" in message and "supported" in message


def test_hostile_and_missing_files_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    assert cli.main(["check", str(junk)]) == 2
    assert cli.main(["check", str(tmp_path / "missing.pt2")]) == 2
    assert cli.main(["prove", str(junk), str(junk), "-o", str(tmp_path / "p.vmp")]) == 2
    assert cli.main(["prove"]) == 2

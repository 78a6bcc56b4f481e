"""Accuracy audits of classifiers trained here on scikit-learn's bundled data, end to end
through provers.api and the ``veriml`` command: the proven accuracy is the integer executor's,
and within one percentage point of the float model's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

from provers import api, cli  # noqa: E402
from provers.circuit import executor  # noqa: E402
from provers.compiler import quantise_input  # noqa: E402

nn = torch.nn


def _train(
    inputs: np.ndarray, labels: np.ndarray, hidden: tuple[int, ...], classes: int, steps: int
) -> torch.nn.Module:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    width = inputs.shape[1]
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    module = nn.Sequential(*layers, nn.Linear(width, classes))
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)
    features, targets = torch.from_numpy(inputs), torch.from_numpy(labels)
    for _ in range(steps):
        optimiser.zero_grad()
        nn.functional.cross_entropy(module(features), targets).backward()
        optimiser.step()
    return module.eval()


def _save_model(module: torch.nn.Module, features: int, folder: Path) -> Path:
    path = folder / "model.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(2, features),)), path)
    return path


def _float_accuracy(module: torch.nn.Module, inputs: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        predicted = module(torch.from_numpy(inputs)).argmax(dim=1).numpy()
    return float(np.mean(predicted == labels))


def _integer_accuracy(vmc: Path, inputs: np.ndarray, labels: np.ndarray) -> float:
    model = api.load_compiled_model(vmc).model
    logits = executor.run(model, quantise_input(model, inputs))
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _split(inputs: np.ndarray, labels: np.ndarray, train: int) -> tuple[np.ndarray, ...]:
    order = np.random.default_rng(0).permutation(len(inputs))
    a, b = order[:train], order[train:]
    return inputs[a], labels[a], inputs[b], labels[b]


def test_the_hospital_scenario_breast_cancer_audit(tmp_path: Path) -> None:
    data = sklearn_datasets.load_breast_cancer()
    raw = data.data.astype(np.float32)
    standard = ((raw - raw.mean(axis=0)) / raw.std(axis=0)).astype(np.float32)
    train_x, train_y, test_x, test_y = _split(standard, data.target.astype(np.int64), 340)
    module = _train(train_x, train_y, (16,), 2, 200)
    pt2 = _save_model(module, 30, tmp_path)
    np.savez(tmp_path / "calibration.npz", inputs=train_x)
    vmc = tmp_path / "model.vmc"
    compiled = api.compile_model(pt2, tmp_path / "calibration.npz", vmc)
    # Tabular data arrives as a CSV with a label column.
    table = tmp_path / "patients.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "label"])
        for row, label in zip(test_x, test_y, strict=True):
            writer.writerow([*(f"{v:.7g}" for v in row), int(label)])
    committed = api.commit_dataset(vmc, table, tmp_path / "patients.vdc")
    assert committed["samples"] == len(test_y) and committed["classes"] == 2
    result = api.prove_audit(vmc, tmp_path / "patients.vdc", tmp_path / "audit.vmp", nonce=b"h")
    proven = result["accuracy"]
    csv_inputs = np.loadtxt(table, delimiter=",", skiprows=1, dtype=np.float32)[:, :-1]
    assert proven == _integer_accuracy(vmc, csv_inputs, test_y)
    assert abs(proven - _float_accuracy(module, test_x, test_y)) <= 0.01
    assert proven >= 0.9
    check = api.verify(
        (tmp_path / "audit.vmp").read_bytes(),
        expected_model_digest=compiled["digest"],
        expected_dataset_digest=committed["digest"],
    )
    assert check.accepted and check.statement["correct"] == result["correct"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("digits")
    data = sklearn_datasets.load_digits()
    inputs = (data.data / 16.0).astype(np.float32)
    train_x, train_y, test_x, test_y = _split(inputs, data.target.astype(np.int64), 1200)
    module = _train(train_x, train_y, (64, 32), 10, 300)
    pt2 = _save_model(module, 64, folder)
    np.savez(folder / "calibration.npz", inputs=train_x)
    vmc = folder / "model.vmc"
    compiled = api.compile_model(pt2, folder / "calibration.npz", vmc)
    torch.save(
        {"inputs": torch.from_numpy(test_x), "labels": torch.from_numpy(test_y)},
        folder / "test.pt",
    )
    return {
        "folder": folder,
        "module": module,
        "vmc": vmc,
        "digest": compiled["digest"],
        "test_x": test_x,
        "test_y": test_y,
    }


def test_the_digits_audit_states_the_integer_executors_accuracy(digits: dict) -> None:
    folder, vmc = digits["folder"], digits["vmc"]
    test_x, test_y = digits["test_x"], digits["test_y"]
    api.commit_dataset(vmc, folder / "test.pt", folder / "test.vdc")
    stages: list[tuple[str, float]] = []
    result = api.prove_audit(
        vmc, folder / "test.vdc", folder / "audit.vmp", progress=lambda s, f: stages.append((s, f))
    )
    assert result["n"] == len(test_y)
    assert result["accuracy"] == _integer_accuracy(vmc, test_x, test_y)
    assert abs(result["accuracy"] - _float_accuracy(digits["module"], test_x, test_y)) <= 0.01
    assert stages[-1][1] == 1.0 and str(len(test_y)) in stages[-1][0]


def test_the_cli_audits_in_chunks_and_verify_prints_the_interval(
    digits: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = digits["folder"]
    np.savez(folder / "test.npz", inputs=digits["test_x"], labels=digits["test_y"])
    proof = folder / "cli.vmp"
    code = cli.main(
        [
            "audit",
            str(digits["vmc"]),
            str(folder / "test.npz"),
            "-o",
            str(proof),
            "--chunk-size",
            "256",
            "--nonce",
            "00ff",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "95% Wilson interval" in out
    assert cli.main(["verify", str(proof), "--model", digits["digest"], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    statement = report["statement"]
    assert statement["kind"] == "audit" and statement["chunks"] == 3
    assert statement["nonce"] == "00ff"
    assert statement["accuracy"] == _integer_accuracy(
        digits["vmc"], digits["test_x"], digits["test_y"]
    )
    low, high = statement["wilson_95"]
    assert low < statement["accuracy"] < high
    assert len(statement["classes"]) == 10
    assert cli.main(["verify", str(proof)]) == 0
    text = capsys.readouterr().out
    assert "accuracy:" in text and "label" in text
    assert cli.main(["verify", str(proof), "--model", "00" * 32]) == 1
    assert cli.main(["audit", str(digits["vmc"]), str(folder / "missing.npz"), "-o", "x"]) == 2
    assert (
        cli.main(
            [
                "audit",
                str(digits["vmc"]),
                str(folder / "test.npz"),
                "-o",
                str(proof),
                "--chunk-size",
                "100",
            ]
        )
        == 2
    )

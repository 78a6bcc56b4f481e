"""The auditor report as a PDF (fpdf2), laid out from the summary ``services.summarise`` makes.

Core PDF fonts hold Latin-1 only: every text goes through ``_latin1`` so a model name in
another script prints as replacement marks instead of failing the whole report.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

PAGE_WIDTH = 190
LABEL_WIDTH = 48
BAR_CHART_HEIGHT = 40
MONO = "Courier"
SANS = "Helvetica"


def _latin1(text: Any) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(SANS, size=7)
        self.cell(0, 5, f"VeriML auditor report - page {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(SANS, "B", 12)
        self.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(180, 180, 180)
        self.line(self.l_margin, self.get_y(), self.l_margin + PAGE_WIDTH, self.get_y())
        self.ln(1)

    def row(self, label: str, value: Any, mono: bool = False) -> None:
        self.set_font(SANS, "B", 9)
        self.cell(LABEL_WIDTH, 5, _latin1(label))
        self.set_font(MONO if mono else SANS, size=8 if mono else 9)
        self.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str, mono: bool = False, size: int = 9) -> None:
        self.set_font(MONO if mono else SANS, size=size)
        self.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _class_table(pdf: _Report, classes: list[dict[str, Any]]) -> None:
    widths = (30, 40, 40, 40)
    pdf.set_font(SANS, "B", 9)
    for width, title in zip(widths, ("Class", "Samples", "Correct", "Accuracy"), strict=True):
        pdf.cell(width, 6, title, border=1, align="C")
    pdf.ln()
    pdf.set_font(SANS, size=9)
    for entry in classes:
        values = (entry["label"], entry["total"], entry["correct"], _percent(entry["accuracy"]))
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 5, str(value), border=1, align="R")
        pdf.ln()


def _class_chart(pdf: _Report, classes: list[dict[str, Any]]) -> None:
    """Per-class accuracy as vertical bars from 0 to 100%."""
    if not classes:
        return
    if pdf.get_y() + BAR_CHART_HEIGHT + 15 > pdf.h - pdf.b_margin:
        pdf.add_page()
    left, top = pdf.l_margin + 10, pdf.get_y() + 3
    slot = min(20.0, (PAGE_WIDTH - 15) / len(classes))
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, top, left, top + BAR_CHART_HEIGHT)
    pdf.line(left, top + BAR_CHART_HEIGHT, left + slot * len(classes), top + BAR_CHART_HEIGHT)
    pdf.set_font(SANS, size=6)
    for fraction in (0.0, 0.5, 1.0):
        pdf.text(left - 8, top + BAR_CHART_HEIGHT * (1 - fraction) + 1, f"{fraction:.0%}")
    pdf.set_fill_color(46, 110, 180)
    for index, entry in enumerate(classes):
        height = BAR_CHART_HEIGHT * (entry["accuracy"] or 0.0)
        x = left + index * slot + slot * 0.15
        pdf.rect(x, top + BAR_CHART_HEIGHT - height, slot * 0.7, height, style="F")
        pdf.text(x + slot * 0.2, top + BAR_CHART_HEIGHT + 4, str(entry["label"]))
    pdf.set_y(top + BAR_CHART_HEIGHT + 7)


def render_pdf(summary: dict[str, Any]) -> bytes:
    pdf = _Report(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(f"VeriML auditor report {summary['report']['id']}")
    pdf.add_page()
    pdf.set_font(SANS, "B", 16)
    pdf.cell(0, 9, "VeriML auditor report: accuracy audit", new_x="LMARGIN", new_y="NEXT")
    pdf.row("Report id", summary["report"]["id"], mono=True)
    pdf.row("Created", summary["report"]["created_at"])

    model = summary["model"]
    pdf.heading("Model")
    pdf.row("Name and version", f"{model['name']} v{model['version']}")
    pdf.row("Digest", model["digest"], mono=True)
    pdf.row("Parameters", model["parameters"] if model["parameters"] is not None else "n/a")
    pdf.row("Intended use", model["intended_use"] or "(not stated by the provider)")
    pdf.row("Limitations", model["limitations"] or "(not stated by the provider)")
    fidelity = ", ".join(f"{key} {value}" for key, value in sorted(model["fidelity"].items()))
    pdf.row("Quantisation fidelity", fidelity or "n/a")
    if model.get("weights") == "private":
        pdf.row("Weights", "Private: committed hidden, kept private by zero knowledge")

    dataset = summary["dataset"]
    private = dataset.get("inputs") == "private"
    pdf.heading("Test set")
    pdf.row("Name", dataset["name"] or "n/a")
    if private:
        pdf.row("Inputs", "Private: hidden by zero knowledge, with the model's scores on them")
        pdf.row("Commitment digest", dataset["digest"], mono=True)
    else:
        pdf.row("Digest", dataset["digest"], mono=True)
    if dataset.get("commitment"):
        pdf.row("Commitment", dataset["commitment"])
    pdf.row("Samples", dataset["samples"])

    accuracy = summary["accuracy"]
    low, high = accuracy["wilson_95"]
    pdf.heading("Proven accuracy")
    pdf.row("Samples proven (n)", accuracy["n"])
    pdf.row("Correct", accuracy["correct"])
    pdf.row("Accuracy", _percent(accuracy["accuracy"]))
    pdf.row("95% Wilson interval", f"{_percent(low)} to {_percent(high)}")
    pdf.ln(2)
    _class_table(pdf, accuracy["classes"])
    _class_chart(pdf, accuracy["classes"])

    privacy = summary["privacy"]
    pdf.heading("Privacy and region")
    settings = ", ".join(f"{part} {value}" for part, value in privacy["settings"].items())
    pdf.row("Privacy settings", settings)
    pdf.row("Test set private", "yes" if privacy["private_input"] else "no")
    pdf.row("Weights private", "yes" if privacy.get("private_weights") else "no")
    pdf.row("Region", privacy["region"])
    pdf.row("Handles PHI", "yes" if privacy["handles_phi"] else "no")

    proof, verification = summary["proof"], summary["verification"]
    pdf.heading("Proof and verification")
    pdf.row("Proof id (job)", proof["job_id"], mono=True)
    pdf.row("Proof file", proof["file_name"], mono=True)
    pdf.row("Proof file SHA-256", proof["sha256"], mono=True)
    pdf.row("Soundness", f"{proof['soundness_bits']} bits")
    pdf.row("Verification result", "ACCEPTED" if verification["accepted"] else "REJECTED")
    pdf.row("Verified at", verification["verified_at"])
    pdf.row("Verification time", f"{verification['verify_seconds']:.3f} s")
    pdf.ln(1)
    pdf.paragraph("Verify it yourself, offline, with the VeriML command-line tool:")
    # One unbroken line, so it can be copied (and matched) exactly as printed.
    pdf.set_font(MONO, size=6)
    pdf.cell(0, 5, _latin1(summary["verify_command"]), new_x="LMARGIN", new_y="NEXT")
    if dataset.get("verify_option"):
        pdf.paragraph("Add this option to check that it proves the test set named above:")
        pdf.set_font(MONO, size=6)
        pdf.cell(0, 5, _latin1(dataset["verify_option"]), new_x="LMARGIN", new_y="NEXT")

    checkpoint = summary["audit_log_checkpoint"]
    pdf.heading("Audit log")
    if checkpoint is None:
        pdf.paragraph("No signed checkpoint of the audit log has been written yet.")
    else:
        pdf.row("Latest checkpoint", f"entry {checkpoint['sequence']} at {checkpoint['time']}")
        pdf.row("Head hash", checkpoint["head_hash"], mono=True)
        pdf.row("Signature (Ed25519)", checkpoint["signature"], mono=True)
    return bytes(pdf.output())

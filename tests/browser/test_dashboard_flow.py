"""The dashboard in a real browser: sign in, upload a model and watch it compile, run an audit
(an inference job while the prover has no audits), open the proof page, download the report,
read the overview and proof pages at phone width, verify the proof, and a tampered copy, on the
public page, and change a privacy default on the compliance page."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from pypdf import PdfReader

from provers import api as prover_api
from tests.platform import factories
from tests.platform.test_end_to_end import FEATURES, calibration_npz, input_pt, tiny_mlp_pt2

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(600)]

HAS_AUDIT = hasattr(prover_api, "prove_audit")
WAIT_MS = 240_000
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def sign_in(page) -> None:
    page.goto("/signin/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def upload_model(page, tmp_path) -> None:
    (tmp_path / "tiny.pt2").write_bytes(tiny_mlp_pt2())
    (tmp_path / "calibration.npz").write_bytes(calibration_npz())
    page.goto("/models/")
    page.fill("input[name=name]", "tiny-mlp")
    page.set_input_files("input[name=file]", str(tmp_path / "tiny.pt2"))
    page.set_input_files("input[name=calibration]", str(tmp_path / "calibration.npz"))
    page.fill("textarea[name=intended_use]", "Browser test model")
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r"/models/[0-9a-f-]+/$"))
    # The page follows the compile through the API and reloads when it ends.
    page.locator("h1 .status-ready").wait_for(timeout=WAIT_MS)


def upload_dataset(page, tmp_path) -> None:
    rng = np.random.default_rng(3)
    data = factories.npz_bytes(
        inputs=rng.standard_normal((16, FEATURES)).astype(np.float32),
        labels=rng.integers(0, 4, 16),
    )
    (tmp_path / "holdout.npz").write_bytes(data)
    page.goto("/datasets/")
    page.fill("input[name=name]", "holdout")
    page.set_input_files("input[name=file]", str(tmp_path / "holdout.npz"))
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r"/datasets/$"))
    page.locator("td .status-ready").wait_for(timeout=WAIT_MS)


def submit_job(page, tmp_path) -> None:
    page.goto("/jobs/")
    if HAS_AUDIT:
        page.check("input[name=kind][value=audit]")
    else:
        (tmp_path / "x.pt").write_bytes(input_pt())
        page.check("input[name=kind][value=inference]")
        page.set_input_files("input[name=input]", str(tmp_path / "x.pt"))
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def change_a_privacy_default(page) -> None:
    page.goto("/compliance/")
    page.select_option("select[name=default_weights]", "private")
    page.fill("textarea[name=reason]", "Browser test: weights private by default")
    page.click("form[data-privacy-form] button[type=submit]")
    page.locator("[data-message]").wait_for()


def test_a_provider_proves_and_anyone_verifies_in_the_browser(
    browser, live_server, worker, alice, plain_http_cookies, screenshot, tmp_path
):
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    sign_in(page)
    screenshot(page, "overview")

    upload_model(page, tmp_path)
    digest = page.locator("[data-digest]").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    screenshot(page, "model")
    if HAS_AUDIT:
        upload_dataset(page, tmp_path)
        screenshot(page, "datasets")
    submit_job(page, tmp_path)
    screenshot(page, "job-running")
    page.locator("h1 .status-succeeded").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-proof] [data-verdict]").inner_text() == "accepted"
    screenshot(page, "proof")
    proof_page = page.url

    with page.expect_download() as proof_download:
        page.click("[data-download-proof]")
    proof = tmp_path / "proof.vmp"
    proof_download.value.save_as(proof)
    if HAS_AUDIT:
        with page.expect_download() as report_download:
            page.click("[data-download-report]")
        report = tmp_path / "report.pdf"
        report_download.value.save_as(report)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report.read_bytes())).pages)
        assert digest in text
        assert f"--model {digest}" in text

    phone = browser.new_context(base_url=live_server.url, viewport=PHONE)
    phone_page = phone.new_page()
    sign_in(phone_page)
    screenshot(phone_page, "overview-phone")
    assert fits_the_width(phone_page)
    phone_page.goto(proof_page)
    assert phone_page.locator("[data-proof] [data-verdict]").inner_text() == "accepted"
    screenshot(phone_page, "proof-phone")
    assert fits_the_width(phone_page)
    phone.close()

    stranger = browser.new_context(base_url=live_server.url, viewport=LAPTOP).new_page()
    stranger.goto("/verify/")
    stranger.set_input_files("[data-proof-input]", str(proof))
    stranger.fill("input[name=model_digest]", digest)
    stranger.click("form[data-verify] button[type=submit]")
    assert stranger.locator("[data-verdict]").inner_text() == "Accepted"
    screenshot(stranger, "verify-accepted")

    tampered = bytearray(proof.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    (tmp_path / "tampered.vmp").write_bytes(bytes(tampered))
    stranger.goto("/verify/")
    stranger.set_input_files("[data-proof-input]", str(tmp_path / "tampered.vmp"))
    stranger.click("form[data-verify] button[type=submit]")
    assert stranger.locator("[data-verdict]").inner_text() == "Rejected"
    screenshot(stranger, "verify-rejected")

    change_a_privacy_default(page)
    assert "public → private" in page.locator("[data-history]").inner_text()
    screenshot(page, "compliance")
    context.close()

"""Property-based requests against every operation of the live OpenAPI schema: none answers 5xx.

Schemathesis reads the schema the running server serves and generates requests for each
operation, valid and invalid (at most ``MAX_EXAMPLES`` of each kind per operation), sent with
an API key of every scope; operations that name an object also get requests naming real ones.
The only property checked is that the server never fails: whatever the request, a refusal is a
4xx. Every operation runs, and all failures are reported together.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.platform import factories
from veriml.accounts import services as account_services

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

MAX_EXAMPLES = 20


@pytest.fixture
def fuzzing_rates(settings) -> None:
    # Every generated request counts against the rates; the fuzzer is not a client to throttle.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "caller": "100000/minute"},
    }


@pytest.fixture
def real_ids(alice_org, charlie_org) -> dict[str, str]:
    """An object of each kind for path parameters, in the fuzzing key's organisation."""
    job = factories.succeeded_job(alice_org)
    grant, _ = account_services.grant_auditor(alice_org, auditor_organisation=charlie_org)
    spare_key = account_services.create_api_key(alice_org, "spare", ["read"]).api_key
    return {
        "/api/v1/models/{id}/": str(job.model_id),
        "/api/v1/datasets/{id}/": str(factories.ready_dataset(alice_org).pk),
        "/api/v1/jobs/{id}/": str(job.pk),
        "/api/v1/jobs/{id}/cancel": str(factories.job(alice_org).pk),
        "/api/v1/jobs/{id}/proof": str(job.pk),
        "/api/v1/auditor-grants/{id}/": str(grant.pk),
        "/api/v1/api-keys/{id}/revoke": spare_key.prefix,
    }


def strategies(operation: Any, real_ids: dict[str, str]) -> st.SearchStrategy[Any]:
    generated = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if operation.path in real_ids:
        path_parameters = {"id": real_ids[operation.path]}
        generated.append(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters)
        )
    return st.one_of(generated)


def test_no_generated_request_makes_the_server_fail(
    live_server, alice, charlie, issue_key, real_ids, fuzzing_rates
):
    key = issue_key("Alice Labs", scopes=("read", "submit", "admin"))
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    failures: list[str] = []
    tested: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=strategies(operation, real_ids))
        @settings(
            max_examples=MAX_EXAMPLES * 2,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

        try:
            check()
        except Exception as failure:
            failures.append(f"{operation.label}:\n{failure}")

    assert len(tested) >= 15, tested
    assert not failures, "\n\n".join(failures)

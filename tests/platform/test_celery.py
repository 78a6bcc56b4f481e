"""The Celery app: safe defaults for long jobs, one queue per kind of work, a real worker."""

from __future__ import annotations

import pytest

from veriml.celery import QUEUES
from veriml.celery import app as celery_app
from veriml.core.tasks import ping


def test_jobs_are_acknowledged_late_and_fetched_one_at_a_time():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"


def test_the_visibility_timeout_outlasts_the_longest_job():
    conf = celery_app.conf
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_workers_look_for_messages_of_dead_workers_at_the_configured_interval(settings):
    options = celery_app.conf.broker_transport_options
    assert options["unacked_restore_interval"] == settings.CELERY_UNACKED_RESTORE_SECONDS
    # Every sweep scans: the interval alone says how often.
    assert options["unacked_restore_throttle"] == 1


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("veriml.registry.tasks.compile_model", "compile"),
        ("veriml.proving.tasks.prove_inference", "prove"),
        ("veriml.proving.tasks.prove_accuracy", "prove"),
        ("veriml.verification.tasks.verify_proof", "verify"),
        ("veriml.core.ping", "default"),
    ],
)
def test_tasks_are_routed_to_the_queue_for_their_kind_of_work(task_name: str, queue: str):
    route = celery_app.amqp.router.route({}, task_name)
    assert route["queue"].name == queue


def test_every_queue_is_declared():
    assert {queue.name for queue in celery_app.conf.task_queues} == set(QUEUES)


@pytest.mark.integration
def test_a_real_worker_runs_a_task_and_its_result_is_read_back(celery_worker_process):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    assert result.successful()


@pytest.mark.integration
def test_a_real_worker_answers_a_broadcast_ping(celery_worker_process):
    replies = celery_app.control.ping(destination=[celery_worker_process.name], timeout=5)
    assert replies == [{celery_worker_process.name: {"ok": "pong"}}]

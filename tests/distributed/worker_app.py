"""The Celery app of the distributed test's workers: govflow's own app, plus

- a line in each worker's log naming the task it runs and its arguments
  (`node w1 runs govflow.outbox.deliver_batch [[12, 13]]`), so the test
  knows which node consumed which outbox row (which worker rendered which
  certificate);
- while the broker's Redis holds HOLD_RENDERS, a certificate rendered on
  the worker is held (not yet stored or recorded) and the log says so, so
  that the test can kill the worker in the middle of an issue;
- `tests.distributed.read_attachments`, which reads attachments back on
  the worker, as govflow's downloads do (govflow.storage.open_verified: the
  bytes from the bucket, checked against the row's SHA-256), and records
  the digests in the broker's Redis for the test to compare.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

from celery.signals import task_prerun, worker_process_init

from govflow.celery import app

log = logging.getLogger("govflow.distributed")
NODE = os.environ.get("GOVFLOW_NODE", "?")
READS_KEY = "distributed:reads:{node}"
HOLD_RENDERS = "distributed:hold-renders"


def _broker():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@task_prerun.connect
def _name_the_node(task=None, args=None, **kwargs) -> None:
    log.warning("node %s runs %s %s", NODE, getattr(task, "name", "?"), json.dumps(args))


@worker_process_init.connect
def _hold_renders_when_asked(**kwargs) -> None:
    from govflow.certificates import services

    render = services.certificate_render

    def held(*args, **kwargs):
        rendered = render(*args, **kwargs)
        if _broker().exists(HOLD_RENDERS):
            log.warning("node %s holds a rendered certificate", NODE)
            deadline = time.monotonic() + 120
            while _broker().exists(HOLD_RENDERS) and time.monotonic() < deadline:
                time.sleep(0.1)
        return rendered

    services.certificate_render = held


@app.task(name="tests.distributed.read_attachments", acks_late=True)
def read_attachments(attachment_ids: list[int]) -> int:
    from govflow.cases.models import Attachment
    from govflow.storage import StoredObject, open_verified

    digests = {}
    for attachment in Attachment.objects.filter(pk__in=attachment_ids).order_by("pk"):
        stored = StoredObject("attachment", str(attachment.pk), attachment.case_id)
        with open_verified(attachment.file, sha256=attachment.sha256, stored=stored) as copy:
            digests[str(attachment.pk)] = hashlib.sha256(copy.read()).hexdigest()
    if digests:
        _broker().hset(READS_KEY.format(node=NODE), mapping=digests)
    return len(digests)


__all__ = ["app"]

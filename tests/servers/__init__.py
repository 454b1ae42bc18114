"""Real server processes the tests start and stop: SeaweedFS (seaweedfs.py),
redis-server, Celery workers, gunicorn, nginx and PgBouncer (processes.py).
Shared by tests/storage, tests/faults and tests/distributed."""

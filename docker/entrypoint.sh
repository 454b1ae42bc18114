#!/bin/sh
# One image, four roles: web (runs migrations first), worker, relay, beat.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    # Workers, limits and JSON error answers: govflow/gunicorn_conf.py.
    exec gunicorn -c python:govflow.gunicorn_conf govflow.wsgi:application ;;
  worker)
    exec celery -A govflow worker --loglevel=INFO --concurrency "${CELERY_CONCURRENCY:-4}" ;;
  relay)
    # Publishes committed outbox rows to the broker (LISTEN/NOTIFY): one is
    # enough, a second is harmless (SKIP LOCKED). PostgreSQL directly.
    # GOVFLOW_RELAY_POLL_SECONDS: how often it looks for waiting rows (default 0.05).
    exec python manage.py outbox_relay --poll "${GOVFLOW_RELAY_POLL_SECONDS:-0.05}" ;;
  beat)
    # Exactly one beat per deployment: it only enqueues sweeps; the sweeps
    # themselves are safe to run concurrently (SKIP LOCKED).
    exec celery -A govflow beat --loglevel=INFO --schedule /var/lib/govflow/celerybeat-schedule ;;
  *)
    exec "$@" ;;
esac

#!/bin/sh
# One image, three roles: web (runs migrations first), worker, beat.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    # Workers, limits and JSON error answers: govflow/gunicorn_conf.py.
    exec gunicorn -c python:govflow.gunicorn_conf govflow.wsgi:application ;;
  worker)
    exec celery -A govflow worker --loglevel=INFO --concurrency "${CELERY_CONCURRENCY:-4}" ;;
  beat)
    # Exactly one beat per deployment: it only enqueues sweeps; the sweeps
    # themselves are safe to run concurrently (SKIP LOCKED).
    exec celery -A govflow beat --loglevel=INFO --schedule /var/lib/govflow/celerybeat-schedule ;;
  *)
    exec "$@" ;;
esac

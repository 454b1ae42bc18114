#!/bin/sh
# One image, three roles: web (runs migrations first), worker, beat.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn govflow.wsgi:application --bind 0.0.0.0:8000 \
      --workers "${GUNICORN_WORKERS:-3}" --access-logfile - ;;
  worker)
    exec celery -A govflow worker --loglevel=INFO --concurrency "${CELERY_CONCURRENCY:-4}" ;;
  beat)
    # Exactly one beat per deployment: it only enqueues sweeps; the sweeps
    # themselves are safe to run concurrently (SKIP LOCKED).
    exec celery -A govflow beat --loglevel=INFO --schedule /var/lib/govflow/celerybeat-schedule ;;
  *)
    exec "$@" ;;
esac

#!/bin/sh
# One image, several roles: web (migrates, then gunicorn), worker, beat, or any command.
set -eu

QUEUES="${CELERY_WORKER_QUEUES:-default,compile,prove,verify,compile.us,compile.eu,compile.uk,compile.ca,prove.us,prove.eu,prove.uk,prove.ca}"

case "${1:-web}" in
  web)
    if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
      python manage.py migrate --noinput
    fi
    exec gunicorn --config docker/gunicorn.conf.py veriml.wsgi:application
    ;;
  worker)
    exec celery -A veriml worker \
      --queues "$QUEUES" \
      --concurrency "${CELERY_WORKER_CONCURRENCY:-1}" \
      --hostname "worker@%h" \
      --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  beat)
    exec celery -A veriml beat \
      --schedule /app/var/celerybeat-schedule \
      --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  *)
    exec "$@"
    ;;
esac

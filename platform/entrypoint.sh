#!/bin/sh
# Container entry point. With MIGRATE_ON_START=1 (the `web` service in docker-compose),
# apply shared migrations, then the tenant schemas that are behind, before serving.
set -e
if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
    python manage.py migrate_schemas --shared --noinput --verbosity 1
    python manage.py migrate_tenants --executor "${TENANT_MIGRATION_EXECUTOR:-multiprocessing}"
fi
exec "$@"

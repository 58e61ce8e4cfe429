#!/bin/sh
# Stands in for the official RabbitMQ image's docker-entrypoint.sh (tests/e2e/profiles.yaml).
# Since RabbitMQ 3.9 the image's entrypoint no longer rewrites configuration from variables
# (RabbitMQ reads RABBITMQ_DEFAULT_USER/PASS itself); it execs its arguments.
set -e
exec "$@"

#!/bin/sh
# Stands in for the official memcached image's docker-entrypoint.sh (tests/e2e/profiles.yaml):
# when the first argument is an option, the arguments are memcached's.
set -e
case "${1:-}" in -*) set -- memcached "$@" ;; esac
exec "$@"

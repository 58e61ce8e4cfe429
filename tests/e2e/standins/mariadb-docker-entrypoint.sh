#!/bin/sh
# Stands in for the official MariaDB image's docker-entrypoint.sh (tests/e2e/profiles.yaml), the
# parts our manifests use (facts from docker-library/mariadb docker-entrypoint.sh; no code copied):
#  - first argument an option: the arguments are mariadbd's;
#  - started as root: own the datadir and the socket dir by mysql, then re-exec as mysql (gosu);
#  - empty datadir: mariadb-install-db, a temporary server without networking and without wsrep,
#    the install's root@127.0.0.1, root@::1 and root@<hostname> are dropped, root@localhost and
#    root@'%' (MARIADB_ROOT_HOST, default %) get MARIADB_ROOT_PASSWORD;
#  - then exec the server with the given arguments.
set -eu
case "${1:-}" in -*) set -- mariadbd "$@" ;; esac
[ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ] || exec "$@"
datadir=/var/lib/mysql
if [ "$(id -u)" = 0 ]; then
  mkdir -p /run/mysqld
  chown -R mysql:mysql "$datadir" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
if [ ! -d "$datadir/mysql" ]; then
  : "${MARIADB_ROOT_PASSWORD:?the image needs MARIADB_ROOT_PASSWORD on first start}"
  server="$1"; shift
  # As the image: the server's own arguments go to the install and to the temporary server.
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --rpm "$@" --wsrep-on=OFF --skip-log-bin >/dev/null
  "$server" "$@" --skip-networking --wsrep-on=OFF --socket=/run/mysqld/mysqld.sock \
    --loose-innodb-buffer-pool-load-at-startup=0 &
  pid=$!
  i=0
  until mariadb --protocol=socket -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 60 ] || { echo "temporary server did not start" >&2; exit 1; }
    sleep 1
  done
  host="${MARIADB_ROOT_HOST:-%}"
  mariadb --protocol=socket -uroot <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(hostname)';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
CREATE USER IF NOT EXISTS 'root'@'${host}' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
GRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  kill "$pid"; wait "$pid" || true
  set -- "$server" "$@"
fi
exec "$@"

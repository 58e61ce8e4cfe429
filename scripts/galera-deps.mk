# What tests/test_galera.py starts: MariaDB + Galera from Debian (the binaries the official
# mariadb image holds: mariadbd, mariadb-backup for SST, socat for SST and the state endpoint) and
# HAProxy, which checks the rendered front's configuration. The Makefile includes this file.
# apt would start mariadb and haproxy on install: a policy-rc.d that denies every start is in
# place while apt runs (the tests start their own nodes on loopback addresses), and the machine's
# own policy-rc.d, if any, is put back afterwards. Idempotent: dpkg answers for the packages.
# CI runs as root; elsewhere run `sudo make galera-deps` once.
GALERA_DEBS := mariadb-server mariadb-backup galera-4 socat haproxy

.PHONY: galera-deps
galera-deps:
	@missing=$$(for p in $(GALERA_DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  set -e; echo "galera-deps: apt-get install $$missing"; \
	  saved=""; \
	  if [ -e /usr/sbin/policy-rc.d ]; then saved=$$(mktemp); cp -p /usr/sbin/policy-rc.d "$$saved"; fi; \
	  trap 'if [ -n "$$saved" ]; then mv "$$saved" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi' EXIT; \
	  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

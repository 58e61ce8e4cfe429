# What the end-to-end run (tests/e2e, `make e2e`) starts as processes; the Makefile includes this file.
#   Debian: MariaDB + Galera, RabbitMQ, memcached, Open vSwitch (the binaries the official images
#     hold; see tests/e2e/profiles). apt would start each daemon on install: a policy-rc.d that
#     denies every start is in place while apt runs (the e2e run starts its own on loopback
#     addresses), and the machine's own policy-rc.d, if any, is put back afterwards.
#   PyPI: the OpenStack services of the release, Horizon, python-openstackclient, uWSGI, PyMySQL,
#     pymemcache, python-memcached in $(E2E_CACHE)/e2e-$(E2E_RELEASE)/venv (scripts/e2e_venv.py,
#     same pins and cutoff as the validator's venv).
# Idempotent: dpkg answers for the packages, a marker file for the venv.
# Measured on this machine (2 cores shared with other work): apt 57 s, venv 6 min (uWSGI and a
# few C extensions compile) the first time; 0.3 s afterwards.
# CI runs as root; elsewhere run `sudo make e2e-deps` once.
E2E_CACHE ?= $(HOME)/.cache/ccp-gitops
E2E_RELEASE ?= 2026.1
E2E_VENV := $(E2E_CACHE)/e2e-$(E2E_RELEASE)/venv
# socat: mariabackup's SST stream and each Galera node's state endpoint (the official mariadb image
# installs it); haproxy: the Galera writer front. tests/test_galera.py starts both.
# sudo: the OpenStack images have it (base/Dockerfile); nova-compute and the Neutron agents
# configure and use it. python3-venv, python3-dev, gcc: the e2e venv (Debian's python3) and the uWSGI it compiles.
E2E_DEBS := mariadb-server mariadb-backup galera-4 socat haproxy rabbitmq-server memcached openvswitch-switch \
  sudo python3-venv python3-dev gcc

.PHONY: e2e-deps e2e-debs e2e-venv
e2e-deps: e2e-debs e2e-venv

e2e-debs:
	@missing=$$(for p in $(E2E_DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  set -e; echo "e2e-deps: apt-get install $$missing"; \
	  saved=""; \
	  if [ -e /usr/sbin/policy-rc.d ]; then saved=$$(mktemp); cp -p /usr/sbin/policy-rc.d "$$saved"; fi; \
	  trap 'if [ -n "$$saved" ]; then mv "$$saved" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi' EXIT; \
	  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing; \
	fi

e2e-venv: $(BIN)/python
	$(BIN)/python scripts/e2e_venv.py --cache-dir $(E2E_CACHE) $(E2E_RELEASE)

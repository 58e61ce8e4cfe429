# Regenerate schemas/openstack/<release>/*.json from the real OpenStack services.
# Included by the top-level Makefile.  Needs PyPI; builds one throw-away venv per
# release under OPTION_CATALOGUES_CACHE (reused on later runs).
#   make option-catalogues                         # every release the script knows
#   make option-catalogues OPENSTACK_RELEASES=2026.2
OPENSTACK_RELEASES ?=
OPTION_CATALOGUES_CACHE ?= $(HOME)/.cache/ccp-gitops
OPTION_CATALOGUES_PYTHON ?= python3.11

.PHONY: option-catalogues
option-catalogues:
	$(OPTION_CATALOGUES_PYTHON) scripts/option_catalogues.py --cache-dir $(OPTION_CATALOGUES_CACHE) $(OPENSTACK_RELEASES)

"""Typed OpenStack configuration checked against the committed option catalogues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping

import jsonschema
import pytest

from ccp_gitops.checks.openstack.catalogue import Conf
from ccp_gitops.checks.openstack.options import (
    check_conf,
    known_releases,
    load_catalogue,
    release_changes,
    value_error,
)
from ccp_gitops.model.problems import Location, Problem, Severity

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "openstack"
OLD, NEW = "2026.1", "2026.2"
FILES = [
    "keystone.conf",
    "glance-api.conf",
    "nova.conf",
    "placement.conf",
    "neutron.conf",
    "ml2_conf.ini",
    "openvswitch_agent.ini",
    "dhcp_agent.ini",
    "l3_agent.ini",
    "metadata_agent.ini",
]


def locator(conf: Conf) -> Callable[[tuple[str, ...]], Location]:
    """Give every file, section and option key of ``conf`` its own line, as a YAML file would."""
    lines: dict[tuple[str, ...], int] = {}
    for file_name, sections in conf.items():
        lines[(file_name,)] = len(lines) + 1
        for section, options in sections.items():
            lines[(file_name, section)] = len(lines) + 1
            for option in options:
                lines[(file_name, section, option)] = len(lines) + 1

    def locate(key: tuple[str, ...]) -> Location:
        return Location("env/prod/openstack.yaml", lines[key], 5)

    return locate


def check(conf: Conf, release: str = OLD) -> list[Problem]:
    return check_conf(conf, release, SCHEMAS, locator(conf))


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def errors(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems if p.severity is Severity.ERROR]


def warnings(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems if p.severity is Severity.WARNING]


# -- the catalogues themselves ------------------------------------------------


def test_both_releases_have_every_catalogue_in_the_documented_format() -> None:
    schema = json.loads((SCHEMAS / "catalogue.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert known_releases(SCHEMAS) == [OLD, NEW]
    for release in (OLD, NEW):
        for file_name in FILES:
            data = json.loads((SCHEMAS / release / f"{file_name}.json").read_text())
            assert [e.message for e in validator.iter_errors(data)] == []
            assert (data["release"], data["file"]) == (release, file_name)
            catalogue = load_catalogue(SCHEMAS, release, file_name)
            assert catalogue is not None and "DEFAULT" in catalogue.sections


def test_catalogue_carries_the_real_option_definitions() -> None:
    keystone = load_catalogue(SCHEMAS, OLD, "keystone.conf")
    assert keystone is not None
    expiration = keystone.option("token", "expiration")
    assert expiration is not None
    assert (expiration.type, expiration.default, expiration.min) == ("integer", 3600, 0)
    nova = load_catalogue(SCHEMAS, OLD, "nova.conf")
    assert nova is not None
    # keystoneauth1 plugin options are registered at run time; the catalogue adds them.
    auth_url = nova.option("keystone_authtoken", "auth_url")
    assert auth_url is not None and "password" in auth_url.auth_plugins
    password = nova.option("keystone_authtoken", "password")
    assert password is not None and password.secret


def test_files_without_catalogue_and_unknown_releases() -> None:
    assert load_catalogue(SCHEMAS, OLD, "api-paste.ini") is None
    assert load_catalogue(SCHEMAS, OLD, "manifest") is None
    assert load_catalogue(SCHEMAS, OLD, "../2026.2/nova.conf") is None
    conf: Conf = {
        "api-paste.ini": {"composite:main": {"use": "egg:Paste#urlmap"}},
        "local_settings": {"DEFAULT": {"OPENSTACK_HOST": "keystone"}},
        "policy.yaml": {"DEFAULT": {"identity:get_user": "role:reader"}},
        "logging.conf": {"loggers": {"keys": "root"}},
    }
    assert check(conf) == []
    with pytest.raises(ValueError, match="no OpenStack option catalogues for release '2024.1'"):
        check_conf(conf, "2024.1", SCHEMAS, locator(conf))


# -- check_conf ---------------------------------------------------------------


def test_valid_config_has_no_problems() -> None:
    conf: Conf = {
        "keystone.conf": {
            "DEFAULT": {"debug": "True", "transport_url": "${TRANSPORT_URL}", "list_limit": "64"},
            "token": {"expiration": 3600, "provider": "fernet", "caching": True},
            "cache": {"enabled": "yes", "backend": "dogpile.cache.pymemcache", "memcache_servers": ["mc-0:11211"]},
            "Database": {"connection": "mysql+pymysql://keystone:{{ db_password }}@galera/keystone"},
        },
        "nova.conf": {
            "DEFAULT": {"instances_path": "$state_path/instances", "my_ip": "10.0.0.5", "cpu_allocation_ratio": 4},
            "keystone_authtoken": {
                "auth_type": "password",
                "auth_url": "http://keystone-api:5000",
                "username": "nova",
                "password": "${NOVA_KEYSTONE_PASSWORD}",
                "project_domain_name": "Default",
                "memcached_servers": "mc-0:11211,mc-1:11211",
            },
            "neutron": {"auth_url": "http://keystone-api:5000", "valid_interfaces": ["internal"]},
            "vnc": {"server_listen": "0.0.0.0", "novncproxy_base_url": "https://vnc.example.org/vnc_auto.html"},
        },
        "neutron.conf": {"DEFAULT": {"core_plugin": "ml2", "dhcp_agents_per_network": 2}},
        "ml2_conf.ini": {"ml2": {"type_drivers": "flat,vlan,vxlan", "mechanism_drivers": ["openvswitch"]}},
    }
    assert [str(p) for p in check(conf)] == []


def test_unknown_option_suggests_the_closest_name() -> None:
    conf: Conf = {"keystone.conf": {"token": {"expiraton": 3600}}}
    problem = only(check(conf))
    assert problem.is_error
    assert "unknown option 'expiraton'" in problem.message
    assert "did you mean 'expiration'?" in problem.message
    assert problem.location == locator(conf)(("keystone.conf", "token", "expiraton"))
    assert str(problem).startswith("env/prod/openstack.yaml:3:5: keystone.conf [token]")


def test_unknown_option_names_the_section_that_has_it() -> None:
    conf: Conf = {"keystone.conf": {"token": {"memcache_servers": "mc:11211"}}}
    assert "it is an option of [cache]" in only(check(conf)).message


def test_keystoneauth_dash_names_are_not_config_file_names() -> None:
    # keystoneauth1 calls the option auth-url; config files must say auth_url.
    conf: Conf = {"nova.conf": {"placement": {"auth-url": "http://keystone:5000"}}}
    assert "did you mean 'auth_url'?" in only(check(conf)).message


def test_unknown_section() -> None:
    conf: Conf = {"keystone.conf": {"tokens": {"expiration": 3600}, "no_such_thing": {"x": 1}}}
    found = check(conf)
    assert len(found) == 2 and all(p.is_error for p in found)
    assert "unknown section [tokens]" in found[0].message and "did you mean 'token'?" in found[0].message
    assert found[0].location == locator(conf)(("keystone.conf", "tokens"))
    assert "unknown section [no_such_thing]" in found[1].message


def test_default_section_is_case_sensitive_other_sections_are_not() -> None:
    wrong_default: Conf = {"keystone.conf": {"default": {"debug": True}}}
    assert "did you mean 'DEFAULT'?" in only(check(wrong_default)).message
    assert check({"keystone.conf": {"Token": {"expiration": 7200}}}) == []


def test_wrong_type() -> None:
    conf: Conf = {
        "keystone.conf": {
            "token": {"expiration": "an hour", "caching": "maybe"},
            "DEFAULT": {"debug": ["true"]},
        },
        "nova.conf": {"DEFAULT": {"cpu_allocation_ratio": "lots"}, "vnc": {"novncproxy_base_url": "vnc.example.org"}},
    }
    messages = errors(check(conf))
    assert len(messages) == 5, messages
    assert "[token] expiration: expected an integer, got 'an hour'" in messages[0]
    assert "[token] caching: expected a boolean" in messages[1]
    assert "[DEFAULT] debug: expected a boolean value, got a list" in messages[2]
    assert "[DEFAULT] cpu_allocation_ratio: expected a number, got 'lots'" in messages[3]
    assert "[vnc] novncproxy_base_url: expected a URI" in messages[4]


def test_integers_and_booleans_accept_yaml_values_and_oslo_strings() -> None:
    conf: Conf = {
        "keystone.conf": {
            "token": {"expiration": " 7200 ", "caching": "Off"},
            "DEFAULT": {"debug": 1, "use_stderr": "on", "insecure_debug": False},
        }
    }
    assert check(conf) == []
    assert check({"keystone.conf": {"token": {"expiration": True}}}) != []
    assert check({"keystone.conf": {"token": {"expiration": 3600.5}}}) != []


def test_secret_values_stay_out_of_messages() -> None:
    conf: Conf = {"nova.conf": {"keystone_authtoken": {"password": ["hunter2"]}}}
    message = only(check(conf)).message
    assert "hunter2" not in message
    bad_list: Conf = {"keystone.conf": {"credential": {"key_repository": ["a"]}}}
    assert "expected a string value, got a list" in only(check(bad_list)).message


def test_out_of_range() -> None:
    keystone = load_catalogue(SCHEMAS, OLD, "keystone.conf")
    assert keystone is not None
    windows = keystone.option("totp", "included_previous_windows")
    assert windows is not None and (windows.min, windows.max) == (0, 10)
    conf: Conf = {
        "keystone.conf": {"totp": {"included_previous_windows": 11}, "token": {"expiration": -1}},
        "neutron.conf": {"DEFAULT": {"bind_port": "70000"}},
    }
    messages = errors(check(conf))
    assert len(messages) == 3, messages
    assert "[totp] included_previous_windows: 11 is above the maximum 10" in messages[0]
    assert "[token] expiration: -1 is below the minimum 0" in messages[1]
    assert "[DEFAULT] bind_port: '70000' is above the maximum 65535" in messages[2]
    assert check({"keystone.conf": {"totp": {"included_previous_windows": 10}}}) == []


def test_bad_choice() -> None:
    conf: Conf = {
        "keystone.conf": {"cache": {"backend": "dogpile.cache.memcached_nope"}},
        "nova.conf": {"vault": {"kv_version": 3}},
        "neutron.conf": {"DEFAULT": {"ipam_driver": "internal"}},
    }
    messages = errors(check(conf))
    assert len(messages) == 2, messages
    assert "[cache] backend: 'dogpile.cache.memcached_nope' is not one of:" in messages[0]
    assert "dogpile.cache.pymemcache" in messages[0]
    assert "[vault] kv_version: 3 is not one of: 1, 2" in messages[1]
    assert check({"nova.conf": {"vault": {"kv_version": "2"}}}) == []


def test_deprecated_name_warns_and_names_the_replacement() -> None:
    conf: Conf = {"keystone.conf": {"DEFAULT": {"logfile": "/var/log/keystone.log"}}}
    problem = only(check(conf))
    assert problem.severity is Severity.WARNING
    assert "[DEFAULT] logfile is a deprecated name; use [DEFAULT] log_file instead" in problem.message
    # A deprecated name is still type-checked as its replacement.
    moved: Conf = {"keystone.conf": {"assignment": {"cache_time": "soon"}}}
    found = check(moved)
    assert "use [resource] cache_time instead" in warnings(found)[0]
    assert "expected an integer" in errors(found)[0]


def test_deprecated_for_removal_warns_with_the_reason() -> None:
    conf: Conf = {"nova.conf": {"oslo_policy": {"enforce_scope": True}}}
    problem = only(check(conf))
    assert problem.severity is Severity.WARNING
    assert "[oslo_policy] enforce_scope is deprecated for removal" in problem.message
    assert "OpenStack will always enforce scope checks" in problem.message
    # glance 2026.1 deprecates its eventlet options with a reason but without the flag.
    glance: Conf = {"glance-api.conf": {"DEFAULT": {"bind_port": 9292}}}
    assert "is deprecated since Gazpacho: Eventlet has been deprecated" in only(check(glance)).message


def test_multistring() -> None:
    issuers = {"type": "multistring", "values": ["CN=john,OU=keystone,O=openstack", "CN=mary,OU=eng,O=abc"]}
    conf: Conf = {
        "keystone.conf": {"tokenless_auth": {"trusted_issuer": issuers}},
        "nova.conf": {"pci": {"alias": {"type": "multistring", "values": ['{"name": "a1", "product_id": "154d"}']}}},
        "neutron.conf": {"service_providers": {"service_provider": "L3_ROUTER_NAT:ovn:neutron.Driver"}},
    }
    assert check(conf) == []
    not_multi: Conf = {"keystone.conf": {"DEFAULT": {"debug": {"type": "multistring", "values": ["true"]}}}}
    assert "[DEFAULT] debug: not a multi-valued option" in only(check(not_multi)).message
    no_values: Conf = {"keystone.conf": {"tokenless_auth": {"trusted_issuer": {"type": "multistring", "values": "x"}}}}
    assert "needs a list under 'values'" in only(check(no_values)).message


def test_typed_lists_and_dicts() -> None:
    nova = load_catalogue(SCHEMAS, OLD, "nova.conf")
    assert nova is not None
    spec = nova.option("keystone_authtoken", "memcached_servers")
    assert spec is not None and value_error(spec, {"a": 1}) is not None
    neutron = load_catalogue(SCHEMAS, OLD, "neutron.conf")
    assert neutron is not None
    mappings = [s for opts in neutron.sections.values() for s in opts.values() if s.type == "dict"]
    assert mappings, "neutron.conf has dict options"
    assert value_error(mappings[0], "a:b,c:d") is None
    assert value_error(mappings[0], "a-b") is not None
    integers = [
        (f, s)
        for f in FILES
        for opts in (load_catalogue(SCHEMAS, OLD, f) or pytest.fail(f)).sections.values()
        for s in opts.values()
        if s.type == "list" and s.item_type == "integer"
    ]
    assert integers, "some list options hold integers"
    _, spec = integers[0]
    assert value_error(spec, "1, 2,3") is None
    assert value_error(spec, ["1", "x"]) is not None


def test_glance_backend_sections() -> None:
    conf: Conf = {
        "glance-api.conf": {
            "DEFAULT": {"enabled_backends": "ceph:rbd, local:file"},
            "glance_store": {"default_backend": "ceph"},
            "ceph": {"rbd_store_pool": "images", "rbd_store_chunk_size": 8},
            "local": {"filesystem_store_datadir": "/var/lib/glance/images"},
            "os_glance_staging_store": {"filesystem_store_datadir": "/var/lib/glance/staging"},
        }
    }
    assert check(conf) == []
    wrong: Conf = {
        "glance-api.conf": {
            "DEFAULT": {"enabled_backends": {"ceph": "rbd"}},
            "ceph": {"filesystem_store_datadir": "/x"},
            "spare": {"rbd_store_pool": "images"},
        }
    }
    messages = errors(check(wrong))
    assert len(messages) == 2, messages
    assert "[ceph]: unknown option 'filesystem_store_datadir'" in messages[0]
    assert "unknown section [spare]" in messages[1]
    assert "declared in [DEFAULT] enabled_backends" in messages[1]
    typo: Conf = {"glance-api.conf": {"DEFAULT": {"enabled_backends": "ceph:rdb"}, "ceph": {"rbd_store_pool": "x"}}}
    message = only(check(typo)).message
    assert "[ceph]: the backend's store type 'rdb' is none of: cinder, file, http, rbd, s3, swift" in message


# -- release_changes ----------------------------------------------------------


def test_release_changes_between_the_two_releases() -> None:
    # Found by diffing the 2026.1 and 2026.2 catalogues.
    conf: Conf = {
        "nova.conf": {
            "keystone_authtoken": {"auth_uri": "http://keystone:5000"},
            "oslo_messaging_rabbit": {"heartbeat_in_pthread": False},
            "profiler_jaeger": {"process_tags": {"site": "a"}},
            "token": {},
        },
        "glance-api.conf": {"DEFAULT": {"bind_port": 9292, "workers": 4}, "task": {"task_executor": "eventlet"}},
        "keystone.conf": {"auth": {"ban_ec2credential_tokens": True}, "token": {"expiration": 3600}},
        "api-paste.ini": {"pipeline:main": {"pipeline": "keystone"}},
    }
    locate = locator(conf)
    found = release_changes(conf, OLD, NEW, SCHEMAS, locate)
    assert all(p.severity is Severity.WARNING for p in found)
    by_key: Mapping[Location, str] = {p.location: p.message for p in found}
    assert len(found) == 7, [str(p) for p in found]

    def said(file_name: str, section: str, option: str) -> str:
        return by_key[locate((file_name, section, option))]

    # Deprecated for removal (and an alias of www_authenticate_uri) in 2026.1, gone in 2026.2.
    assert said("nova.conf", "keystone_authtoken", "auth_uri").endswith("auth_uri is removed in 2026.2")
    assert said("nova.conf", "oslo_messaging_rabbit", "heartbeat_in_pthread").endswith("is removed in 2026.2")
    assert "is deprecated for removal: Jager driver is no longer supported in 2026.2" in said(
        "nova.conf", "profiler_jaeger", "process_tags"
    )
    assert "[DEFAULT] bind_port is removed in 2026.2" in said("glance-api.conf", "DEFAULT", "bind_port")
    assert "[DEFAULT] workers is removed in 2026.2" in said("glance-api.conf", "DEFAULT", "workers")
    assert "removed in 2026.2 without deprecation" in said("keystone.conf", "auth", "ban_ec2credential_tokens")
    # 2026.2 gave [task] task_executor a list of choices.
    assert "value no longer valid in 2026.2: 'eventlet' is not one of: taskflow" in said(
        "glance-api.conf", "task", "task_executor"
    )
    # The same options, checked against the new release directly.
    after = check(conf, NEW)
    assert any("unknown option 'heartbeat_in_pthread'" in m for m in errors(after))
    assert any("unknown option 'auth_uri'" in m for m in errors(after))
    assert any("auth_uri is deprecated for removal" in m for m in warnings(check(conf, OLD)))


def test_release_changes_is_quiet_for_unchanged_options() -> None:
    conf: Conf = {"keystone.conf": {"token": {"expiration": 3600}, "DEFAULT": {"debug": True}}}
    assert release_changes(conf, OLD, NEW, SCHEMAS, locator(conf)) == []

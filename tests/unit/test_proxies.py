"""The client's address behind a reverse proxy: believed only from the proxies FORWARDED_ALLOW_IPS names."""

from __future__ import annotations

import re

import pytest

from fintrack.ops.proxies import TrustedProxies
from fintrack.settings import SettingsError, load_settings


def test_a_trusted_proxy_names_the_client_and_an_untrusted_peer_cannot():
    proxies = TrustedProxies("10.42.40.2, 172.18.0.0/16")
    assert proxies.client("10.42.40.2", "203.0.113.9") == "203.0.113.9"
    assert proxies.client("172.18.3.4", "203.0.113.9") == "203.0.113.9"
    assert proxies.client("198.51.100.1", "203.0.113.9") == "198.51.100.1"  # a client writing the header itself
    assert proxies.client("10.42.40.2", None) == "10.42.40.2"


def test_what_a_client_wrote_left_of_our_proxies_is_not_believed():
    proxies = TrustedProxies("10.0.0.2,10.0.0.3")
    # The client sent "X-Forwarded-For: 1.2.3.4"; nginx then Traefik appended what they saw.
    assert proxies.client("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.3") == "203.0.113.9"
    assert proxies.client("10.0.0.2", "10.0.0.3") == "10.0.0.3"  # nothing but our own hops
    assert proxies.client("10.0.0.2", " , ") == "10.0.0.2"


def test_star_trusts_everyone_and_names_and_paths_are_never_trusted():
    assert TrustedProxies("*").client("198.51.100.1", "203.0.113.9") == "203.0.113.9"
    assert not TrustedProxies("127.0.0.1").trusts("/run/fintrack.sock")
    assert TrustedProxies("::1").client("::1", "2001:db8::7") == "2001:db8::7"


@pytest.mark.parametrize("bad", ["10.0.0.300", "proxy.local", "10.0.0.0/40"])
def test_a_bad_entry_is_refused_by_name(bad):
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS.*" + re.escape(bad)):
        load_settings({"FORWARDED_ALLOW_IPS": f"127.0.0.1, {bad}"})

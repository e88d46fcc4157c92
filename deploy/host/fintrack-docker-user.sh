#!/usr/bin/env bash
# Fills Docker's DOCKER-USER chain: from the internet-facing interface only 80/tcp, 443/tcp and 51820/udp reach
# containers. Installed as /usr/local/sbin/fintrack-docker-user by setup-oci.sh and run by
# fintrack-docker-user.service whenever Docker starts (Docker creates the chain empty after a reboot).
set -euo pipefail
ext_if=$(ip route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
[ -n "$ext_if" ] || { echo "no default route" >&2; exit 1; }
for cmd in iptables ip6tables; do
    "$cmd" -n -L DOCKER-USER >/dev/null 2>&1 || continue
    "$cmd" -F DOCKER-USER
    "$cmd" -A DOCKER-USER -i "$ext_if" -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
    "$cmd" -A DOCKER-USER -i "$ext_if" -p tcp -m conntrack --ctstate NEW --ctorigdstport 80 -j RETURN
    "$cmd" -A DOCKER-USER -i "$ext_if" -p tcp -m conntrack --ctstate NEW --ctorigdstport 443 -j RETURN
    "$cmd" -A DOCKER-USER -i "$ext_if" -p udp -m conntrack --ctorigdstport 51820 -j RETURN
    "$cmd" -A DOCKER-USER -i "$ext_if" -j DROP
    "$cmd" -A DOCKER-USER -j RETURN
done

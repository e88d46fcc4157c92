#!/usr/bin/env bash
# Prepares an Oracle Cloud Ampere A1 VM (Ubuntu 22.04 or 24.04) to run FinTrack's docker-compose.prod.yml.
# Idempotent: every step checks before it changes anything, so run it again after editing it or upgrading.
#
#   sudo deploy/host/setup-oci.sh base --device /dev/oracleoci/oraclevdb [--admin-cidr 203.0.113.7/32]
#   sudo deploy/host/setup-oci.sh secrets
#   sudo deploy/host/setup-oci.sh ssh-vpn-only      # from an SSH session that came in through the VPN
#
# base:         packages, unattended security upgrades, the block volume mounted by UUID (_netdev,nofail) at
#               DATA_ROOT, Docker with its data on it, Oracle's iptables rules replaced by UFW allowing only
#               80/tcp, 443/tcp and 51820/udp (plus SSH from --admin-cidr until ssh-vpn-only), the same rules in
#               Docker's DOCKER-USER chain, and the data directories.
# secrets:      generates the secret files docker-compose.prod.yml mounts (kept if they exist).
# ssh-vpn-only: closes SSH to everything but the VPN. It refuses unless the session running it came through
#               WireGuard, which proves the VPN works before the other way in is shut.
# docs/deploy/oracle-cloud.md walks through the whole set-up; Oracle Linux notes are in deploy/host/README.md.
set -euo pipefail

DATA_ROOT=${DATA_ROOT:-/mnt/oracle_data}
FINTRACK_DIR="$DATA_ROOT/fintrack"
SECRETS_DIR=${SECRETS_DIR:-$FINTRACK_DIR/secrets}
# The Docker network wg-easy's peers arrive on (docker-compose.prod.yml, network "vpn"), masqueraded as the
# vpn container's address, and its bridge on the host.
VPN_DOCKER_SUBNET=10.42.42.0/24
VPN_BRIDGE=br-fintrack-vpn
FINTRACK_UID=10001
HERE=$(cd "$(dirname "$0")" && pwd)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*)"
}

require_ubuntu() {
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${ID:-}:${VERSION_ID:-}" in
        ubuntu:22.04 | ubuntu:24.04) ;;
        *) die "this script supports Ubuntu 22.04 and 24.04; for Oracle Linux follow deploy/host/README.md" ;;
    esac
}

install_packages() {
    log "packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        ca-certificates curl gnupg ufw unattended-upgrades iptables apache2-utils openssl >/dev/null
}

configure_unattended_upgrades() {
    log "unattended security upgrades"
    cat >/etc/apt/apt.conf.d/20auto-upgrades <<'EOF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
EOF
    # Security updates only; a kernel update reboots at night (the stack restarts by itself: restart policies).
    cat >/etc/apt/apt.conf.d/52fintrack-unattended-upgrades <<'EOF'
Unattended-Upgrade::Allowed-Origins {
    "${distro_id}:${distro_codename}-security";
    "${distro_id}ESMApps:${distro_codename}-apps-security";
    "${distro_id}ESM:${distro_codename}-infra-security";
};
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-Time "04:30";
Unattended-Upgrade::Remove-Unused-Dependencies "true";
EOF
    systemctl enable --now unattended-upgrades.service >/dev/null
}

mount_block_volume() {
    local device=$1 uuid fstype line
    [ -b "$device" ] || die "$device is not a block device (attach the volume, paravirtualized, first)"
    fstype=$(blkid -o value -s TYPE "$device" || true)
    if [ -z "$fstype" ]; then
        log "formatting $device (empty) as ext4"
        mkfs.ext4 -q -L oracle_data "$device"
        fstype=ext4
    fi
    uuid=$(blkid -o value -s UUID "$device")
    [ -n "$uuid" ] || die "no UUID on $device"
    # By UUID: device names can change between boots. _netdev waits for the network (iSCSI attachments need
    # it); nofail lets the VM boot without the volume, so you can still log in and fix it.
    line="UUID=$uuid $DATA_ROOT $fstype defaults,_netdev,nofail 0 2"
    mkdir -p "$DATA_ROOT"
    if ! grep -qxF "$line" /etc/fstab; then
        log "fstab: $DATA_ROOT on UUID=$uuid"
        sed -i "\\|[[:space:]]${DATA_ROOT}[[:space:]]|d" /etc/fstab
        printf '%s\n' "$line" >>/etc/fstab
        systemctl daemon-reload
    fi
    mountpoint -q "$DATA_ROOT" || mount "$DATA_ROOT"
}

install_docker() {
    if ! command -v docker >/dev/null 2>&1; then
        log "Docker Engine from Docker's apt repository"
        install -m 0755 -d /etc/apt/keyrings
        curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc
        chmod a+r /etc/apt/keyrings/docker.asc
        # shellcheck disable=SC1091
        . /etc/os-release
        printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu %s stable\n' \
            "$(dpkg --print-architecture)" "$VERSION_CODENAME" >/etc/apt/sources.list.d/docker.list
        apt-get update -qq
        apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin >/dev/null
    fi
}

configure_docker() {
    local wanted current
    wanted=$(printf '{\n  "data-root": "%s/docker",\n  "log-driver": "local",\n  "live-restore": true\n}\n' "$DATA_ROOT")
    current=$(cat /etc/docker/daemon.json 2>/dev/null || true)
    # Docker must not start (and write to the boot volume) before the block volume is mounted.
    mkdir -p /etc/systemd/system/docker.service.d
    cat >/etc/systemd/system/docker.service.d/fintrack.conf <<EOF
[Unit]
RequiresMountsFor=$DATA_ROOT
EOF
    systemctl daemon-reload
    if [ "$wanted" != "$current" ]; then
        log "Docker data-root on $DATA_ROOT/docker"
        systemctl stop docker.socket docker.service 2>/dev/null || true
        mkdir -p "$DATA_ROOT/docker"
        if [ -d /var/lib/docker ] && [ -z "$(ls -A "$DATA_ROOT/docker")" ]; then
            cp -a /var/lib/docker/. "$DATA_ROOT/docker/"
        fi
        mkdir -p /etc/docker
        printf '%s' "$wanted" >/etc/docker/daemon.json
    fi
    systemctl enable --now docker.service >/dev/null
}

replace_oracle_iptables() {
    # Oracle's Ubuntu images load /etc/iptables/rules.v4 through netfilter-persistent: INPUT rejects all but
    # SSH, and FORWARD rejects everything, which also breaks Docker's published ports. UFW takes over.
    if [ -f /etc/iptables/rules.v4 ] && [ ! -f /etc/iptables/rules.v4.oracle ]; then
        log "keeping Oracle's iptables rules as /etc/iptables/rules.v4.oracle and removing them"
        cp /etc/iptables/rules.v4 /etc/iptables/rules.v4.oracle
    fi
    if dpkg -s netfilter-persistent >/dev/null 2>&1 || dpkg -s iptables-persistent >/dev/null 2>&1; then
        apt-get purge -y -qq iptables-persistent netfilter-persistent >/dev/null
    fi
    while iptables -C INPUT -j REJECT --reject-with icmp-host-prohibited 2>/dev/null; do
        iptables -D INPUT -j REJECT --reject-with icmp-host-prohibited
    done
    while iptables -C FORWARD -j REJECT --reject-with icmp-host-prohibited 2>/dev/null; do
        iptables -D FORWARD -j REJECT --reject-with icmp-host-prohibited
    done
}

configure_ufw() {
    local admin_cidr=$1
    log "UFW: 80/tcp, 443/tcp, 51820/udp; SSH from the VPN${admin_cidr:+ and $admin_cidr}"
    ufw default deny incoming >/dev/null
    ufw default allow outgoing >/dev/null
    ufw allow 80/tcp >/dev/null
    ufw allow 443/tcp >/dev/null
    ufw allow 51820/udp >/dev/null
    # SSH over the VPN: peers reach the host at 10.42.42.1 through the vpn container.
    ufw allow in on "$VPN_BRIDGE" from "$VPN_DOCKER_SUBNET" to any port 22 proto tcp >/dev/null
    if [ -n "$admin_cidr" ] && [ ! -f /etc/fintrack/ssh-vpn-only ]; then
        # Until ssh-vpn-only: SSH from the administrator's own address only (the OCI security list too).
        ufw allow from "$admin_cidr" to any port 22 proto tcp >/dev/null
    fi
    ufw --force enable >/dev/null
}

install_docker_user_rules() {
    log "DOCKER-USER chain: published ports limited to 80/tcp, 443/tcp, 51820/udp"
    # Published container ports are forwarded before UFW's INPUT rules see them; DOCKER-USER is where Docker
    # lets us filter them. Re-applied every time Docker starts (it creates the chain empty after a reboot).
    install -m 0755 "$HERE/fintrack-docker-user.sh" /usr/local/sbin/fintrack-docker-user
    cat >/etc/systemd/system/fintrack-docker-user.service <<'EOF'
[Unit]
Description=FinTrack: limit what reaches Docker's published ports (DOCKER-USER)
After=docker.service
PartOf=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/fintrack-docker-user

[Install]
WantedBy=docker.service
EOF
    systemctl daemon-reload
    systemctl enable fintrack-docker-user.service >/dev/null
    systemctl restart fintrack-docker-user.service
}

make_directories() {
    log "data directories under $FINTRACK_DIR"
    install -d -m 0755 "$FINTRACK_DIR"
    install -d -m 0700 -o root -g root "$SECRETS_DIR"
    # Owners are the images' users: postgres and redis 999, prometheus and exporters nobody (65534),
    # grafana 472, FinTrack 10001. The TimescaleDB image runs as 1000: chown postgres/ to it if you use it.
    install -d -m 0700 -o 999 -g 999 "$FINTRACK_DIR/postgres"
    install -d -m 0700 -o 999 -g 999 "$FINTRACK_DIR/redis"
    install -d -m 0755 -o 65534 -g 65534 "$FINTRACK_DIR/prometheus"
    install -d -m 0755 -o 65534 -g 65534 "$FINTRACK_DIR/alertmanager"
    install -d -m 0755 -o 472 -g 0 "$FINTRACK_DIR/grafana"
    install -d -m 0700 -o root -g root "$FINTRACK_DIR/letsencrypt"
    install -d -m 0700 -o root -g root "$FINTRACK_DIR/wireguard"
    install -d -m 0750 -o "$FINTRACK_UID" -g "$FINTRACK_UID" "$FINTRACK_DIR/backups"
    install -d -m 0755 -o "$FINTRACK_UID" -g "$FINTRACK_UID" "$FINTRACK_DIR/metrics"
}

write_secret() {
    local name=$1 value=$2
    if [ -s "$SECRETS_DIR/$name" ]; then
        return 0
    fi
    log "secret $name"
    # World-readable inside a root-only directory: each container (each with its own uid) reads its bind-mounted
    # copy, and no user on the host can reach the directory.
    (umask 022 && printf '%s\n' "$value" >"$SECRETS_DIR/$name")
    chmod 0444 "$SECRETS_DIR/$name"
}

make_secrets() {
    local db_password redis_password admin_password
    install -d -m 0700 -o root -g root "$SECRETS_DIR"
    if [ -s "$SECRETS_DIR/db_password" ]; then
        db_password=$(cat "$SECRETS_DIR/db_password")
    else
        db_password=$(openssl rand -hex 24)
    fi
    if [ -s "$SECRETS_DIR/redis_password" ]; then
        redis_password=$(cat "$SECRETS_DIR/redis_password")
    else
        redis_password=$(openssl rand -hex 24)
    fi
    write_secret db_password "$db_password"
    write_secret database_url "postgresql://fintrack:$db_password@db:5432/fintrack"
    write_secret redis_password "$redis_password"
    write_secret redis_url "redis://:$redis_password@redis:6379/0"
    write_secret secret_key "$(openssl rand -base64 48 | tr -d '\n=' | tr '+/' '-_')"
    write_secret grafana_admin_password "$(openssl rand -hex 16)"
    if [ ! -e "$SECRETS_DIR/alertmanager_smtp_password" ]; then
        # Yours to fill in (your mail provider's password): until then Alertmanager runs but cannot send.
        install -m 0444 /dev/null "$SECRETS_DIR/alertmanager_smtp_password"
        log "secret alertmanager_smtp_password: empty, write your SMTP password into it"
    fi
    if [ ! -s "$SECRETS_DIR/admin_htpasswd" ]; then
        admin_password=$(openssl rand -hex 12)
        write_secret admin_htpasswd "$(htpasswd -nbB admin "$admin_password")"
        printf '\n/admin login (shown once, keep it in your password manager): admin / %s\n\n' "$admin_password"
    fi
}

ssh_vpn_only() {
    local client
    client=${SSH_CONNECTION%% *}
    case "$client" in
        10.42.42.*) ;;
        *) die "this SSH session comes from '${client:-nowhere}', not through the VPN: connect with WireGuard and
run 'ssh ubuntu@10.42.42.1' first, then run this again from that session" ;;
    esac
    log "SSH only through the VPN (this session came from $client)"
    mkdir -p /etc/fintrack
    touch /etc/fintrack/ssh-vpn-only
    local rule
    while rule=$(ufw status numbered | grep -E '(^|[^0-9])22/tcp ' | grep -v "on $VPN_BRIDGE" | head -n 1) && [ -n "$rule" ]; do
        ufw --force delete "$(printf '%s' "$rule" | sed -E 's/^\[ *([0-9]+)\].*/\1/')" >/dev/null
    done
    ufw status verbose
    printf '\nNow remove the port 22 rule from the OCI security list (docs/deploy/oracle-cloud.md, step 9).\n'
}

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

main() {
    local command=${1:-}
    shift || true
    local device="" admin_cidr=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --device) device=${2:?--device needs a path}; shift 2 ;;
            --admin-cidr) admin_cidr=${2:?--admin-cidr needs an address/prefix}; shift 2 ;;
            *) usage ;;
        esac
    done
    case "$command" in
        base)
            require_root "$command"
            require_ubuntu
            [ -n "$device" ] || die "--device is required (lsblk shows it; /dev/oracleoci/oraclevdb for the first volume)"
            # Enabling UFW without a way back in would end this very session.
            [ -n "$admin_cidr" ] || [ -f /etc/fintrack/ssh-vpn-only ] ||
                die "--admin-cidr is required until ssh-vpn-only has run (your address, e.g. 203.0.113.7/32)"
            install_packages
            configure_unattended_upgrades
            mount_block_volume "$device"
            install_docker
            configure_docker
            replace_oracle_iptables
            configure_ufw "$admin_cidr"
            install_docker_user_rules
            make_directories
            log "done: now 'sudo $0 secrets', then docs/deploy/oracle-cloud.md step 6"
            ;;
        secrets)
            require_root "$command"
            make_secrets
            ;;
        ssh-vpn-only)
            require_root "$command"
            ssh_vpn_only
            ;;
        *) usage ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# Pull-based deploy, run by fintrack-deploy.timer every 5 minutes: nothing reaches into the VM to deploy, the VM
# looks for a new image itself. CI pushes ghcr.io/<owner>/fintrack:<version> and moves the channel tag
# (FINTRACK_VERSION in /etc/fintrack/site.env, e.g. `stable`); when that tag points to a new image, this checks
# out the commit the image was built from (its org.opencontainers.image.revision label) so the compose file and
# monitoring configuration match it, and brings the stack up, waiting for health checks. If the new image does
# not become healthy, the previous one is started again.
set -euo pipefail

REPO=${FINTRACK_REPO:-/opt/fintrack}
SITE_ENV=${FINTRACK_SITE_ENV:-/etc/fintrack/site.env}
PROFILE=${FINTRACK_PROFILE:-small}
STATE=/var/lib/fintrack-deploy
mkdir -p "$STATE"

set -a
# shellcheck disable=SC1090
. "$SITE_ENV"
set +a
: "${FINTRACK_IMAGE:?FINTRACK_IMAGE is not set in $SITE_ENV}" "${FINTRACK_VERSION:?FINTRACK_VERSION is not set in $SITE_ENV}"
image="$FINTRACK_IMAGE:$FINTRACK_VERSION"

compose() {
    docker compose --project-directory "$REPO" -f "$REPO/docker-compose.prod.yml" \
        --env-file "$REPO/deploy/profiles/$PROFILE.env" --env-file "$SITE_ENV" "$@"
}

docker pull --quiet "$image" >/dev/null
new_id=$(docker image inspect --format '{{.Id}}' "$image")
if [ "$new_id" = "$(cat "$STATE/deployed-id" 2>/dev/null || true)" ]; then
    exit 0
fi
revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$image")
echo "deploying $image ($new_id, revision ${revision:-unknown})"

previous_revision=$(git -C "$REPO" rev-parse HEAD)
if [ -n "$revision" ]; then
    git -C "$REPO" fetch --quiet origin
    git -C "$REPO" checkout --quiet --detach "$revision"
fi

if compose up -d --remove-orphans --wait --wait-timeout 300; then
    docker tag "$new_id" "$FINTRACK_IMAGE:last-good"
    printf '%s\n' "$new_id" >"$STATE/deployed-id"
    echo "deployed $new_id"
    exit 0
fi

echo "the new image did not become healthy; starting the previous one again" >&2
if docker image inspect "$FINTRACK_IMAGE:last-good" >/dev/null 2>&1; then
    git -C "$REPO" checkout --quiet --detach "$previous_revision"
    FINTRACK_VERSION=last-good compose up -d --remove-orphans --wait --wait-timeout 300 || true
fi
exit 1

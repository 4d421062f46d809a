#!/bin/sh
# Builds the local stand-ins for the registry images docker-compose.yml names, from Debian
# packages only (no container registry): the Debian base (debootstrap, `podman import`), then
# python:3.11 (with torch's CPU wheel from $WHEELS), redis and postgres on top of it.
# Usage: CONTAINERS_CONF=deploy/offline/containers.conf deploy/offline/build-images.sh
# Env: WORK (scratch folder, default /var/tmp/albumbot-offline), MIRROR (Debian mirror),
#      WHEELS (folder holding torch-<version>+cpu-*.whl, default /opt/wheels),
#      CA_BUNDLE (this host's CA bundle, copied in so pip trusts what the host trusts).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
WORK="${WORK:-/var/tmp/albumbot-offline}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
WHEELS="${WHEELS:-/opt/wheels}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
base=localhost/albumbot-offline/debian:bookworm
mkdir -p "$WORK"

if ! podman image exists "$base"; then
    if [ ! -e "$WORK/rootfs/etc/debian_version" ]; then
        rm -rf "$WORK/rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$WORK/rootfs" "$MIRROR"
    fi
    # A proxy that re-signs TLS (as on the test VM) is trusted only through the host's bundle.
    install -D -m 644 "$CA_BUNDLE" "$WORK/rootfs/usr/local/share/albumbot-offline/ca-bundle.crt"
    rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/archives/"*.deb
    tar -C "$WORK/rootfs" -c . | podman import \
        --change 'ENV PIP_CERT=/usr/local/share/albumbot-offline/ca-bundle.crt' \
        --change 'ENV SSL_CERT_FILE=/usr/local/share/albumbot-offline/ca-bundle.crt' \
        --change 'CMD ["/bin/bash"]' - "$base"
fi
podman build -v "$WHEELS:/wheels:ro" -f "$here/python.Containerfile" \
    -t localhost/albumbot-offline/python:3.11 "$here"
podman build -f "$here/redis.Containerfile" -t localhost/albumbot-offline/redis:7 "$here"
podman build -f "$here/postgres.Containerfile" -t localhost/albumbot-offline/postgres:15 "$here"
podman build -f "$here/flower.Containerfile" -t localhost/albumbot-offline/flower:2.0 "$here"

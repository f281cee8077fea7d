#!/usr/bin/env bash
#
# docker-base.sh: make sure the image debian:bookworm-slim exists locally,
# the base of every edustat image (Dockerfile, docker/db/Dockerfile).
#
# 1. Present already: nothing to do.
# 2. Else `docker pull` (bounded to EDUSTAT_DOCKER_PULL_TIMEOUT seconds, 60;
#    EDUSTAT_DOCKER_PULL=0 skips it), for machines that reach a registry.
# 3. Else build the same thing from Debian's packages: debootstrap
#    --variant=minbase bookworm from the machine's own Debian mirror (its apt
#    sources, or EDUSTAT_DEBIAN_MIRROR), slimmed the way the registry's slim
#    image is (no docs, man pages or locales; dpkg excludes them from later
#    installs too; no apt lists or caches), then `docker import`.  About
#    half a minute, and about 75 MB, like the registry's image.
#
# The image's apt sources are the host's Debian mirror and security mirror,
# since containers reach the network the way the host does.
#
# Needs root (debootstrap), a running Docker engine (scripts/dockerd.sh
# start) and debootstrap (installed by scripts/dockerd.sh start).
#
# Environment: EDUSTAT_DEBIAN_MIRROR, EDUSTAT_DEBIAN_SECURITY_MIRROR,
# EDUSTAT_DOCKER_PULL (1), EDUSTAT_DOCKER_PULL_TIMEOUT (60), TMPDIR.
set -euo pipefail

IMAGE=debian:bookworm-slim
SUITE=bookworm

say() {
        echo "docker-base.sh: $*" >&2
}

# The URI of the host's apt source that serves SUITE (exactly: bookworm,
# not bookworm-security or cloud-sdk-bookworm), from deb822 .sources files
# and one-line .list files.  Prints nothing when there is none.
host_mirror() {
        local suite=$1 f
        {
                for f in /etc/apt/sources.list.d/*.sources; do
                        [ -f "$f" ] || continue
                        # Paragraphs are separated by blank lines.
                        awk -v want="$suite" '
                        function flush() {
                                if (uri != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " "))
                                        print uri
                                uri = ""; suites = ""; types = ""
                        }
                        /^[ \t]*$/ { flush(); next }
                        /^[ \t]*#/ { next }
                        tolower($1) == "uris:"   { uri = $2 }
                        tolower($1) == "suites:" { $1 = ""; suites = $0; gsub(/^ +| +$/, "", suites) }
                        tolower($1) == "types:"  { $1 = ""; types = $0 }
                        END { flush() }' "$f"
                done
                for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                        [ -f "$f" ] || continue
                        # deb [options] URI SUITE COMPONENT...
                        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
                            awk -v want="$suite" '$1 == "deb" && $3 == want { print $2 }'
                done
        } | head -n 1
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
        exit 0
fi

if [ "${EDUSTAT_DOCKER_PULL:-1}" != 0 ]; then
        say "pulling $IMAGE"
        if timeout "${EDUSTAT_DOCKER_PULL_TIMEOUT:-60}" docker pull -q "$IMAGE" >/dev/null 2>&1; then
                say "pulled $IMAGE"
                exit 0
        fi
        say "cannot pull $IMAGE; building it with debootstrap"
fi

if [ "$(id -u)" -ne 0 ]; then
        say "debootstrap needs root; run this as root or load $IMAGE another way"
        exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
        say "debootstrap is missing; scripts/dockerd.sh start installs it"
        exit 1
fi

MIRROR=${EDUSTAT_DEBIAN_MIRROR:-$(host_mirror "$SUITE")}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${EDUSTAT_DEBIAN_SECURITY_MIRROR:-$(host_mirror "$SUITE-security")}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/edustat-base.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

say "debootstrap --variant=minbase $SUITE from $MIRROR"
start=$(date +%s)
if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
        say "debootstrap failed; the end of its log:"
        tail -n 20 "$WORK/debootstrap.log" >&2
        tail -n 20 "$ROOT/debootstrap/debootstrap.log" >&2 2>/dev/null || true
        exit 1
fi

# What the registry's image has: deb822 sources with updates and security,
# dpkg told to skip docs, man pages and locales, apt's docker-clean and no
# translations.
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/overrides/*' \
    'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/all_languages' \
    'path-include /usr/share/locale/locale.alias' 'path-exclude /usr/share/man/*' \
    >"$ROOT/etc/dpkg/dpkg.cfg.d/docker"
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name all_languages \
    -not -name locale.alias -exec rm -rf {} +
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/groff/* \
    "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
    "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/apt/* "$ROOT"/debootstrap
# Docker provides these per container.
rm -f "$ROOT/etc/hostname" "$ROOT/etc/resolv.conf"
: >"$ROOT/etc/machine-id"

tar --numeric-owner -C "$ROOT" -c . |
    docker import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$IMAGE" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
say "made $IMAGE from $MIRROR in $(($(date +%s) - start)) s ($((size / 1000000)) MB)"

# edustat: one image for edustat-collector, edustat-aggregator and
# edustat-sink (and edustat-keygen); docker-compose.yml picks the program per
# service.
#
# Both stages start from debian:bookworm-slim and take everything else from
# Debian packages, so the image builds on a machine without a registry once
# that base exists (scripts/docker-base.sh makes it with
# debootstrap).

# --- build ------------------------------------------------------------------
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc libc6-dev meson ninja-build pkg-config \
        libzmq3-dev libmsgpack-dev libpq-dev libcsv-dev libsqlite3-dev \
        libzip-dev libexpat1-dev libxlsxwriter-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the build reads, so a change to demo/ or docs/ keeps this layer.
COPY meson.build meson_options.txt ./
COPY lib/ lib/
COPY collector/ collector/
COPY aggregator/ aggregator/
COPY sink/ sink/
COPY tools/ tools/
COPY scripts/embed_sql.py scripts/
# The tests need cmocka and a PostgreSQL server; they run in `make test`,
# not in the image build.
RUN meson setup /build -Dtests=disabled --buildtype=release \
 && ninja -C /build \
 && meson install -C /build --destdir /out --strip

# --- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim

# The runtime libraries only: no compiler, no headers, no PostgreSQL client.
# SQLite is the collector's durable outbox: batches survive a crash or a
# restart until the aggregator acknowledges them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libzmq5 libmsgpackc2 libpq5 libcsv3 libsqlite3-0 libzip4 libexpat1 libxlsxwriter4 \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid, so files the daemons leave in volumes (the collector's state,
# later its spool and CURVE keys) keep their owner across image rebuilds.
# The db image writes the sink's password file for this uid as well.
ARG EDUSTAT_UID=10001
RUN groupadd --gid "$EDUSTAT_UID" edustat \
 && useradd --no-create-home --uid "$EDUSTAT_UID" --gid edustat \
        --home-dir /var/lib/edustat --shell /usr/sbin/nologin edustat \
 && install -d -o edustat -g edustat -m 0750 /var/lib/edustat \
 && install -d -o edustat -g edustat -m 0700 /etc/edustat/keys

COPY --from=build /out/usr/local/bin/ /usr/local/bin/
COPY config/ /etc/edustat/config/
COPY demo/ /usr/share/edustat/demo/
COPY docker/collector/round.sh /usr/local/bin/edustat-demo-round
COPY docker/keys.sh /usr/local/bin/edustat-compose-keys

ENV EDUSTAT_CONFIG=/etc/edustat/config \
    EDUSTAT_KEYS=/etc/edustat/keys \
    EDUSTAT_COLLECTORS=/etc/edustat/keys/collectors.csv
USER edustat
WORKDIR /var/lib/edustat
EXPOSE 5560 5561
CMD ["edustat-aggregator"]

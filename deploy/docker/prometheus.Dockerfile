# Prometheus for the compose cluster, from Debian's `prometheus` package, so it builds from
# the same local base as the node (no image registry needed).  Build from the repository root:
#
#   docker build -f deploy/docker/prometheus.Dockerfile -t assetl2/prometheus:dev .
#
# BASE_IMAGE may be any Debian bookworm image (debian:bookworm-slim, python:3.11-slim-bookworm).
# The scrape config is deploy/prometheus/prometheus.yml (compose mounts it read-only too, so
# editing it needs only `docker compose restart prometheus`).
ARG BASE_IMAGE=assetl2/debian-base:bookworm
FROM ${BASE_IMAGE}
LABEL org.assetl2.component="prometheus"
# The package's maintainer scripts create the prometheus user; policy-rc.d (in the local
# base) keeps them from trying to start a service.  curl is for the healthcheck.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends prometheus curl >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus /var/lib/prometheus \
 && prometheus --version 2>&1 | head -1
COPY deploy/prometheus/prometheus.yml /etc/prometheus/prometheus.yml
USER prometheus
WORKDIR /var/lib/prometheus
VOLUME ["/var/lib/prometheus"]
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9090/-/healthy"]
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/var/lib/prometheus/metrics2", \
     "--storage.tsdb.retention.time=15d", \
     "--web.listen-address=0.0.0.0:9090", \
     "--web.console.libraries=/usr/share/prometheus/console_libraries", \
     "--web.console.templates=/usr/share/prometheus/consoles"]

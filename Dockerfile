# One image for every Downbeat process (control-plane, relay, notifications, media, worker,
# and the one-shot migrate/topics/seed jobs); docker-compose.yml picks the process with
# `downbeat <subcommand>`. One image means one build, one scan, one version to roll back.

# 3.11 matches `requires-python` and the interpreter requirements.lock was compiled for
# (`uv pip compile ... -p 3.11`); moving to another minor needs a re-lock first.
FROM python:3.11-slim

# No apt-get step on purpose: every native dependency ships as a manylinux wheel with its
# libraries inside (PyAV bundles FFmpeg, aiortc bundles libopus/libvpx, numba bundles LLVM,
# psycopg[binary] bundles libpq). Adding Debian packages would only add CVEs to patch,
# and their sonames (libvpx7 vs libvpx9) change between Debian releases of the base image.

# PYTHONUNBUFFERED: logs reach `docker-compose logs` as they happen, not when a buffer fills.
# PYTHONDONTWRITEBYTECODE: the app runs as a user that cannot write site-packages anyway.
# UV_NO_CACHE: uv's download cache would otherwise stay in the layer as dead weight.
# PIP_DISABLE_PIP_VERSION_CHECK: pip is only used once, to fetch uv; skip the network call.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_NO_CACHE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: they change far less often than the source, so
# most rebuilds reuse this (slow: numba, aiortc, av) layer. uv is pinned to the version the
# lock was produced with so that a uv release cannot change how the lock is read.
# The lock is compiled with the dev extra; `-c` applies its pins to the runtime
# dependencies only, so test tooling stays out of the image.
COPY pyproject.toml requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv pip install --system -r pyproject.toml -c requirements.lock

# The project itself, without dependencies: they are exactly what the lock said above.
# `uv pip check` then fails the build if pyproject.toml asks for something the lock lacks
# (a lock that drifted from pyproject), instead of the image failing at import time.
COPY . .
RUN uv pip install --system --no-deps . \
    && uv pip check --system

# settings.py looks for configs/ next to the package, which after a (non-editable) install
# is site-packages, not /app; point it at the copy that ships with the image.
# DOWNBEAT_ENV=prod so that even `docker run` without compose gets the 0.0.0.0 binds and
# the refusal to start without DOWNBEAT_SECRET_KEY.
ENV DOWNBEAT_CONFIG_DIR=/app/configs \
    DOWNBEAT_ENV=prod

# Never run as root: a compromise of the web or media process (which parses untrusted
# audio/video) should not own the container. The data_dir of configs/prod.toml must exist
# and be writable by that user; a fixed UID keeps volume ownership stable across rebuilds.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/downbeat --no-create-home downbeat \
    && mkdir -p /var/lib/downbeat \
    && chown downbeat:downbeat /var/lib/downbeat
USER downbeat

# control-plane, notifications, media, worker, relay: each serves /healthz and /readyz on
# its own port (configs/base.toml). Documentation only; publishing is docker-compose's job.
EXPOSE 8000 8010 8020 8030 8040

# No HEALTHCHECK here: the port to probe depends on which process the container runs, so
# each service in docker-compose.yml declares its own.
CMD ["downbeat", "control-plane"]

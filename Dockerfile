# One image for every albumbot role (web, worker, migrate); docker-compose.yml picks the command.
# CPU torch by default; the gpu worker is built with --build-arg TORCH_INDEX_URL=<a CUDA index>.
# BASE: any image with Python 3.11 whose `python`/`pip` come first on PATH; without a registry,
# deploy/offline/ builds one from Debian packages (compose.offline.yml passes it).
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/albumbot
# torch first, from its own index, so the project's `torch>=` requirement pulls nothing more.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY worker worker
COPY model model
COPY migrations migrations
COPY templates templates
COPY static static
# Editable: the app finds alembic.ini, migrations/, templates/ and static/ beside its packages.
RUN pip install --no-cache-dir -e .

RUN useradd --create-home albumbot && mkdir /data && chown albumbot /data
USER albumbot
ENV ALBUMBOT_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["albumbot", "web", "--host", "0.0.0.0", "--port", "8000"]

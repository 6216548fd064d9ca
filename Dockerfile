# One image for every process: web (daphne), worker and beat (celery), and the one-shot migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected at build time; uploads live in the /app/var/media volume.
RUN DEBUG=true python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --create-home --uid 1000 clinic \
    && mkdir -p /app/var/media \
    && chown -R clinic:clinic /app/var

USER clinic
EXPOSE 8000

CMD ["daphne", "-v", "0", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]

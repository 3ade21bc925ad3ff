# One image for the API and the worker: `escalation api` or `escalation worker` (and
# `escalation migrate`), as docker-compose.yml runs them.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY escalation escalation
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY api api
COPY store store
COPY config config
# pip compiles the package's bytecode at install time: the workflow sandbox re-imports the
# workflow modules for every new workflow, so cached bytecode matters (DESIGN.md section 6).
# The `tracing` extra makes ESCALATION_TRACING=true work without rebuilding.
RUN pip install ".[tracing]" && useradd --create-home --uid 10001 escalation
USER escalation
# 8000: the API; 9464: worker metrics (ESCALATION_WORKER_METRICS_ADDRESS)
EXPOSE 8000 9464
CMD ["escalation", "api", "--host", "0.0.0.0", "--port", "8000"]

# One image for the API and the worker: `escalation api` or `escalation worker`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY escalation escalation
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY api api
COPY store store
COPY config config
RUN pip install --no-cache-dir . && useradd --create-home escalation
USER escalation
EXPOSE 8000
CMD ["escalation", "api", "--host", "0.0.0.0", "--port", "8000"]

# The Temporal worker: every workflow and activity of the project.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
RUN pip install . && python -m compileall -q services workflows && useradd --system --uid 10001 xieshang
USER xieshang
CMD ["python", "-m", "workflows.worker"]

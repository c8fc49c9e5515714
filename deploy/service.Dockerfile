# One image for the three services; docker-compose.yml picks the service by command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
RUN pip install . && python -m compileall -q services workflows && useradd --system --uid 10001 xieshang
USER xieshang
EXPOSE 8001 8002 8003
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8001') + '/healthz')"
CMD ["uvicorn", "services.intake.main:app", "--host", "0.0.0.0", "--port", "8001", "--no-proxy-headers"]

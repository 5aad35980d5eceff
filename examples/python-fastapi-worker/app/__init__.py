"""report-exporter: FastAPI API and Celery worker sharing one codebase."""

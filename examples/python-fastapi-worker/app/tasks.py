import csv
import io
import uuid
from datetime import UTC, datetime

from celery import Celery
from sqlalchemy import select

from app.config import get_settings
from app.db import Report, ReportStatus, Sale, SessionLocal

settings = get_settings()

celery = Celery("report_exporter", broker=settings.celery_broker_url, backend=settings.celery_result_backend)
celery.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=600,
    task_soft_time_limit=540,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
)


@celery.task(name="reports.build", autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def build_report(report_id: str) -> int:
    """Render one CSV report from the sales table and store it on the report row."""
    with SessionLocal() as session:
        report = session.get(Report, uuid.UUID(report_id))
        if report is None:
            return 0
        report.status = ReportStatus.running
        session.commit()

        try:
            query = (
                select(Sale.sold_on, Sale.store_id, Sale.sku, Sale.quantity, Sale.amount_cents)
                .where(Sale.sold_on.between(report.date_from, report.date_to))
                .order_by(Sale.sold_on, Sale.store_id, Sale.sku)
                .limit(settings.report_max_rows)
            )
            if report.store_id:
                query = query.where(Sale.store_id == report.store_id)

            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["sold_on", "store_id", "sku", "quantity", "amount"])
            rows = 0
            for sold_on, store_id, sku, quantity, amount_cents in session.execute(query.execution_options(yield_per=5000)):
                writer.writerow([sold_on.isoformat(), store_id, sku, quantity, f"{amount_cents / 100:.2f}"])
                rows += 1

            report.csv = buffer.getvalue()
            report.row_count = rows
            report.status = ReportStatus.done
        except Exception as exc:  # recorded for the API, then re-raised for Celery
            session.rollback()
            report.status = ReportStatus.failed
            report.error = str(exc)[:2000]
            raise
        finally:
            report.finished_at = datetime.now(UTC)
            session.commit()
        return rows

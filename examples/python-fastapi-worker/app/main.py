import uuid
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select, text
from sqlalchemy.orm import Session, undefer

from app.db import Report, ReportStatus, create_schema, get_session
from app.tasks import build_report


@asynccontextmanager
async def lifespan(_app: FastAPI):
    create_schema()
    yield


app = FastAPI(title="report-exporter", version="0.9.3", lifespan=lifespan)
router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

SessionDep = Annotated[Session, Depends(get_session)]


class ReportRequest(BaseModel):
    date_from: date
    date_to: date
    store_id: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def check_range(self) -> "ReportRequest":
        if self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")
        if (self.date_to - self.date_from).days > 366:
            raise ValueError("a report covers at most 366 days")
        return self


class ReportOut(BaseModel):
    id: uuid.UUID
    status: ReportStatus
    store_id: str | None
    date_from: date
    date_to: date
    row_count: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    model_config = {"from_attributes": True}


def load(session: Session, report_id: uuid.UUID) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "report not found")
    return report


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ReportOut)
def create_report(body: ReportRequest, session: SessionDep, response: Response) -> Report:
    report = Report(date_from=body.date_from, date_to=body.date_to, store_id=body.store_id)
    session.add(report)
    session.commit()
    session.refresh(report)  # load server-side defaults (created_at)
    build_report.delay(str(report.id))
    response.headers["Location"] = f"{router.prefix}/{report.id}"
    return report


@router.get("", response_model=list[ReportOut])
def list_reports(session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[Report]:
    rows = session.scalars(select(Report).order_by(Report.created_at.desc()).limit(limit))
    return list(rows)


@router.get("/{report_id}", response_model=ReportOut)
def get_report(report_id: uuid.UUID, session: SessionDep) -> Report:
    return load(session, report_id)


@router.get("/{report_id}/download")
def download_report(report_id: uuid.UUID, session: SessionDep) -> Response:
    report = session.scalars(select(Report).options(undefer(Report.csv)).where(Report.id == report_id)).first()
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "report not found")
    if report.status is not ReportStatus.done or report.csv is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"report is {report.status.value}")
    filename = f"sales_{report.date_from}_{report.date_to}.csv"
    return Response(
        content=report.csv,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete("/{report_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_report(report_id: uuid.UUID, session: SessionDep) -> None:
    session.delete(load(session, report_id))
    session.commit()


@app.get("/healthz", include_in_schema=False)
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


app.include_router(router)

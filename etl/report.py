"""What an ingest run did, file by file: the summary `attune ingest` prints, `--json` writes
and the exit code is read from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileReport:
    """What happened to one input file."""

    source: str
    kind: str
    status: str  # loaded | partial | rejected | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    rows_skipped: int = 0
    message: str | None = None
    encoding: str | None = None
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "kind": self.kind,
            "status": self.status,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_replaced": self.rows_replaced,
            "rows_skipped": self.rows_skipped,
            "encoding": self.encoding,
            "message": self.message,
            "top_reasons": [{"rule": rule, "rows": count} for rule, count in self.top_reasons],
            "dropped_columns": self.dropped_columns,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class IngestReport:
    run_id: str
    database: str
    files: list[FileReport]

    @property
    def exit_code(self) -> int:
        """0 when every row loaded; 1 when rows were quarantined or files refused."""
        clean = all(
            report.status in ("loaded", "skipped") and report.rows_quarantined == 0
            for report in self.files
        )
        return 0 if clean else 1

    def as_dict(self) -> dict:
        totals = {
            key: sum(getattr(report, key) for report in self.files)
            for key in (
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "rows_replaced",
                "rows_skipped",
            )
        }
        return {
            "run_id": self.run_id,
            "database": self.database,
            "exit_code": self.exit_code,
            "totals": totals,
            "files": [report.as_dict() for report in self.files],
        }

"""Imports of persons, campaign members and do-not-call numbers from files, with their row errors."""

from enum import Enum

from tortoise import fields
from tortoise.indexes import Index

from models.base import TimestampedModel


class ImportKind(str, Enum):
    PERSONS = "PERSONS"
    MEMBERS = "MEMBERS"
    DO_NOT_CALL = "DO_NOT_CALL"


class ImportMode(str, Enum):
    INSERT = "INSERT"
    UPSERT = "UPSERT"
    DRY_RUN = "DRY_RUN"


class ImportStatus(str, Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Import(TimestampedModel):
    """One file being loaded: what, how, and how far it got (good rows commit batch by batch)."""

    kind = fields.CharEnumField(ImportKind, max_length=12)
    mode = fields.CharEnumField(ImportMode, max_length=10)
    status = fields.CharEnumField(ImportStatus, max_length=10, default=ImportStatus.PENDING)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="imports", null=True, on_delete=fields.CASCADE)
    created_by = fields.ForeignKeyField("models.User", related_name="imports", null=True, on_delete=fields.SET_NULL)
    file_name = fields.CharField(max_length=255)
    # Where the uploaded file waits (under UPLOAD_DIR/imports); removed when the import ends.
    file_path = fields.CharField(max_length=1024, default="")
    file_size = fields.BigIntField(default=0)
    # An uploaded file is the import's and is removed when it ends; a file the CLI names is left alone.
    owns_file = fields.BooleanField(default=True)
    # Header -> field, as given or guessed; kept so the error report and a re-run can say what was read.
    mapping = fields.JSONField(default=dict)
    processed_rows = fields.IntField(default=0)
    inserted = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    error_rows = fields.IntField(default=0)
    bytes_read = fields.BigIntField(default=0)
    cancel_requested = fields.BooleanField(default=False)
    message = fields.TextField(default="")
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    campaign_id: int | None
    created_by_id: int | None

    class Meta:
        table = "data_import"
        ordering = ["id"]


class ImportRowError(TimestampedModel):
    """A refused row: its number in the file (the header is row 1), the column at fault, why."""

    data_import = fields.ForeignKeyField("models.Import", related_name="row_errors", on_delete=fields.CASCADE)
    row = fields.IntField()
    column = fields.CharField(max_length=200, default="")
    code = fields.CharField(max_length=50)
    message = fields.TextField()

    data_import_id: int

    class Meta:
        table = "import_row_error"
        ordering = ["id"]
        indexes = [Index(fields=["data_import_id", "id"])]

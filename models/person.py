from enum import Enum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class PersonKind(str, Enum):
    NATURAL = "NATURAL"
    LEGAL = "LEGAL"


class PersonStage(str, Enum):
    SUSPECT = "SUSPECT"
    PROSPECT = "PROSPECT"
    CUSTOMER = "CUSTOMER"


class Person(TimestampedModel):
    """Someone the operation contacts ("Pessoa"): natural (CPF) or legal (CNPJ)."""

    kind = fields.CharEnumField(PersonKind, max_length=10)
    name = fields.CharField(max_length=200)
    document = fields.CharField(max_length=14, db_index=True)
    # Unique while the record is live; NULL for a suspect kept after conversion,
    # so the prospect created from it can carry the same document.
    document_key = fields.CharField(max_length=14, unique=True, null=True)
    phones = fields.JSONField(default=list)
    emails = fields.JSONField(default=list)
    stage = fields.CharEnumField(PersonStage, max_length=10, db_index=True)
    company = fields.ForeignKeyField(
        "models.Company", related_name="persons", null=True, on_delete=fields.RESTRICT
    )
    do_not_call = fields.BooleanField(default=False)
    # Lower-cased name, document digits and phone digits, for the text filter.
    search_text = fields.TextField()
    converted_to = fields.ForeignKeyField(
        "models.Person", related_name="converted_from", null=True, on_delete=fields.SET_NULL
    )
    # "Dados cadastrais": the address (CEP digits, two-letter state), birth date (a legal person's
    # foundation date) and notes. city_key is the city folded (lower case, no accents), for the filter.
    cep = fields.CharField(max_length=8, null=True)
    street = fields.CharField(max_length=200, default="", db_default="")
    address_number = fields.CharField(max_length=20, default="", db_default="")
    city = fields.CharField(max_length=100, default="", db_default="")
    city_key = fields.CharField(max_length=100, default="", db_default="")
    state = fields.CharField(max_length=2, default="", db_default="")
    birth_date = fields.DateField(null=True)
    notes = fields.TextField(default="", db_default="")

    company_id: int | None
    converted_to_id: int | None

    class Meta:
        table = "person"
        ordering = ["id"]
        indexes = [
            # Keyset orders of `persons(orderBy:)`, and a rep's own company by name.
            Index(fields=["name", "id"]),
            Index(fields=["company_id", "name", "id"]),
            Index(fields=["created_at", "id"]),
            Index(fields=["city_key", "id"]),
            Index(fields=["cep", "id"]),
        ]


class PersonConversion(Model):
    """One suspect -> prospect conversion, when and by whom (Person.timeline's ConversionEntry).

    Plain integer ids, not foreign keys: a conversion moves every reference to the suspect onto the
    prospect (resolvers/person.py), and a deleted suspect's id must stay as it was, naming nobody."""

    id = fields.IntField(primary_key=True)
    suspect_id = fields.IntField()
    prospect_id = fields.IntField()
    actor_id = fields.IntField(null=True)
    suspect_deleted = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person_conversion"
        indexes = [Index(fields=["prospect_id", "created_at"]), Index(fields=["suspect_id", "created_at"])]

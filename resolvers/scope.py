"""What one viewer may see: the visibility rules, stated once, for every way rows are read.

A field reaches rows in three ways, and all three apply these rules where the rows are loaded,
so that no field, old or new, can forget them:

- root use cases filter their querysets (`visible_persons`, `visible_tickets`, `visible_users`…,
  built from the properties below);
- nested fields load through `Loaders` (resolvers/loaders.py), whose batch functions keep only the
  rows the viewer's Scope sees (`sees_*`): a hidden row answers null, or is left out of a list;
- the compiled path (schema/compiled/) reads raw rows by id and passes them through the same
  predicates (schema/compiled/types.py), in the same batch.

The rules (README, "Visibility"):

- persons and companies: a company rep, their own company's; the operator's people, every one;
- tickets: a rep, their company's; an agent, those assigned to them or to nobody; staff, all;
- internal notes, ticket actions and non-conformities, and outbound work (campaigns, members,
  operations, callbacks): the operator's people only;
- users: whoever reaches a user sees its name, role and state; the e-mail, as the whole user that
  `user(id)` answers, only staff, the user themselves and a rep's colleagues of the same company.

A caller without a user (only `login` runs for one) sees none of these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.user import Role, User

OPERATOR = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
STAFF = (Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class Scope:
    role: Role | None = None
    user_id: int | None = None
    company_id: int | None = None

    @classmethod
    def of(cls, user: User | None) -> Scope:
        return NOBODY if user is None else cls(user.role, user.pk, user.company_id)

    @property
    def is_rep(self) -> bool:
        return self.role == Role.COMPANY_REP

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_operator(self) -> bool:
        """The operator's people: agents, supervisors, admins."""
        return self.role in OPERATOR

    # Persons and companies.

    @property
    def own_company_only(self) -> bool:
        """Persons and companies are limited to the viewer's company (`company_id`)."""
        return not self.is_operator

    def sees_company(self, company_id: int | None) -> bool:
        return self.is_operator or (company_id is not None and company_id == self.company_id)

    def sees_person(self, company_id: int | None) -> bool:
        """A person of `company_id` (None: of no company)."""
        return self.sees_company(company_id)

    # Tickets and what the operator keeps to itself.

    @property
    def sees_every_ticket(self) -> bool:
        return self.is_staff

    def sees_ticket(self, company_id: int | None, assignee_id: int | None) -> bool:
        if self.is_rep:
            return company_id is not None and company_id == self.company_id
        if self.role == Role.AGENT:
            return assignee_id is None or assignee_id == self.user_id
        return self.is_staff

    @property
    def sees_operator_records(self) -> bool:
        """Internal notes, ticket actions, non-conformities, and outbound work."""
        return self.is_operator

    # Users.

    @property
    def reads_every_user(self) -> bool:
        return self.is_staff

    def reads_user(self, user_id: int, company_id: int | None) -> bool:
        """Whether the viewer sees the whole user (its e-mail), as `user(id)` answers it."""
        if self.is_staff or (self.user_id is not None and user_id == self.user_id):
            return True
        return self.is_rep and company_id is not None and company_id == self.company_id


NOBODY = Scope()

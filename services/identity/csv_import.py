"""Employees from a CSV file, for companies without an identity provider.

Columns (header line, any order, any case; ``,`` or ``;`` between values, as
spreadsheets in France write them; an Excel BOM is fine): ``email`` (required),
``full_name`` or ``given_name``/``family_name``, ``external_id``, ``active``
(true/false, yes/no, oui/non, 1/0; default true), ``role`` (member or
corporate_admin; default member). A role is granted only if the caller may
grant it (``accounts.check_grantable``): a bad one is reported on its line.

The import is all or nothing: a dry run reports every bad row with its line
number (an e-mail or an external id twice in the file too); a real run with any bad row changes nothing and reports the same. A
row matches an existing user of the organisation by e-mail; the same file
imported twice changes nothing the second time.
"""
import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select

from common import errors
from common.validation import is_email
from services.identity import accounts
from services.identity.models import User
from services.identity.scope import administered_organisation

MAX_ROWS = 5000
# Every cell is bounded before any rule reads it (an e-mail's bound).
MAX_CELL_LENGTH = 320
COLUMNS = {"email", "full_name", "given_name", "family_name", "external_id", "active", "role"}
ALIASES = {"e-mail": "email", "mail": "email", "name": "full_name", "first_name": "given_name",
           "last_name": "family_name", "roles": "role"}
TRUE, FALSE = {"true", "yes", "oui", "1", "y", "o"}, {"false", "no", "non", "0", "n"}


@dataclass
class Row:
    line: int
    email: str
    full_name: str
    given_name: str | None
    family_name: str | None
    external_id: str | None
    active: bool
    role: str


@dataclass
class Report:
    dry_run: bool
    applied: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)

    def error(self, line, field_name, message):
        self.errors.append({"line": line, "field": field_name, "message": message})


def parse(text, report):
    """The file's rows, or none if the file itself is unreadable. Pure."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        report.error(1, None, "The file is empty.")
        return []
    names = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        report.error(1, None, f"Unknown columns: {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(COLUMNS))}).")
    if "email" not in names:
        report.error(1, "email", "The header has no email column.")
    if report.errors:
        return []
    rows, seen, seen_external_ids = [], {}, {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                report.error(line, None, f"A file has at most {MAX_ROWS} rows.")
                break
            if len(values) != len(names):
                report.error(line, None, f"{len(values)} values for {len(names)} columns.")
                continue
            row = _row(line, dict(zip(names, (value.strip() for value in values))), report)
            if row is None:
                continue
            key = row.email.lower()
            if key in seen:
                report.error(line, "email", f"Already on line {seen[key]}.")
                continue
            if row.external_id and row.external_id in seen_external_ids:
                report.error(line, "external_id",
                             f"Already on line {seen_external_ids[row.external_id]}.")
                continue
            seen[key] = line
            if row.external_id:
                seen_external_ids[row.external_id] = line
            rows.append(row)
    except csv.Error as exc:
        report.error(reader.line_num, None, f"Unreadable CSV: {exc}.")
    return rows


def _row(line, values, report):
    errors_before = len(report.errors)
    too_long = [name for name, value in values.items() if len(value) > MAX_CELL_LENGTH]
    for name in too_long:
        report.error(line, name, f"At most {MAX_CELL_LENGTH} characters.")
    if too_long:
        return None
    email = values.get("email", "")
    if not is_email(email):
        report.error(line, "email", f"{email!r} is not an e-mail address.")
    given, family = values.get("given_name") or None, values.get("family_name") or None
    full_name = values.get("full_name") or " ".join(part for part in (given, family) if part)
    if not full_name:
        report.error(line, "full_name", "A name is required (full_name, or given and family name).")
    elif len(full_name) > 200:
        report.error(line, "full_name", "At most 200 characters.")
    active_text = (values.get("active") or "true").lower()
    if active_text not in TRUE | FALSE:
        report.error(line, "active", f"{values.get('active')!r} is not true or false.")
    role = (values.get("role") or "member").lower()
    if role not in ("member", "corporate_admin"):
        report.error(line, "role", f"{role!r}: member or corporate_admin.")
    if len(report.errors) > errors_before:
        return None
    return Row(line, email, full_name, given, family, values.get("external_id") or None,
               active_text in TRUE, role)


def import_users(uow, caller, organisation_id, text, dry_run):
    organisation = administered_organisation(uow.session, caller, organisation_id)
    report = Report(dry_run=dry_run)
    rows = parse(text, report)
    report.rows = len(rows)
    plans = _plan(uow.session, caller, organisation, rows, report)
    if report.errors or dry_run:
        return report
    for row, user in plans:
        if user is None:
            accounts.provision_user(
                uow, caller, organisation, via="csv", email=row.email, full_name=row.full_name,
                given_name=row.given_name, family_name=row.family_name,
                external_id=row.external_id, roles=[row.role], active=row.active)
            continue
        accounts.change_user(uow, caller, user, _changes(row, user), via="csv")
        accounts.set_active(uow, caller, user, row.active, via="csv")
    report.applied = True
    return report


def _plan(session, caller, organisation, rows, report):
    """Match each row with a user and count what would change, in the report."""
    emails = [row.email.lower() for row in rows]
    existing = {user.email.lower(): user for user in session.execute(
        select(User).where(func.lower(User.email).in_(emails), User.deleted_at.is_(None))
        .with_for_update()).scalars()} if emails else {}
    external_ids = {user.external_id: user.email.lower() for user in session.execute(
        select(User).where(User.organisation_id == organisation.id, User.deleted_at.is_(None),
                           User.external_id.isnot(None))).scalars()}
    plans = []
    for row in rows:
        user = existing.get(row.email.lower())
        if user is not None and user.organisation_id != organisation.id:
            report.error(row.line, "email", "This address belongs to an account elsewhere.")
            continue
        owner = external_ids.get(row.external_id)
        if row.external_id and owner and owner != row.email.lower():
            report.error(row.line, "external_id", "Another user has this external id.")
            continue
        try:
            accounts.check_grantable(caller, organisation,
                                     {row.role} - set(user.roles if user else ()))
        except (errors.InvalidInput, errors.Forbidden) as refusal:
            report.error(row.line, "role", refusal.detail)
            continue
        plans.append((row, user))
        if user is None:
            report.created += 1
        elif user.active and not row.active:
            report.deactivated += 1
        elif not user.active and row.active:
            report.reactivated += 1
        elif any(getattr(user, name) != value for name, value in _changes(row, user).items()
                 if name != "email") or row.email != user.email:
            report.updated += 1
        else:
            report.unchanged += 1
    return plans


def _changes(row, user):
    """A row adds its role to the user's roles; it never takes one away."""
    return {"email": row.email, "full_name": row.full_name, "given_name": row.given_name,
            "family_name": row.family_name, "external_id": row.external_id,
            "roles": sorted(set(user.roles) | {row.role})}

"""New organisation schemas cloned from a migrated template schema instead of migrated.

Migrating a new schema runs every tenant migration (seconds, and more with each migration
we add). The template (`TENANT_TEMPLATE_SCHEMA`, not an organisation) is migrated like any
tenant whenever the migration state changes (`template_refresh`: `migrate_tenants`, and
the spare-pool job before it fills the pool); a new schema is then a copy of it
(`template_clone`), made from the template's catalogue in one batch of statements.

Why not django-tenants' `clone_schema` (TENANT_BASE_SCHEMA): it renames unique
constraints (a later RemoveConstraint fails on cloned tenants), creates helper types in
`public` on every call, and fakes the migrations of the clone with `migrate_schemas
--fake`, which marks as applied whatever the template lacks — a clone of a stale template
would claim migrations it never ran. Here a clone copies the template's own
`django_migrations` rows and is refused unless the template holds exactly the migrations
on disk.

What a clone copies, by name: tables (columns with types, collations, defaults, NOT NULL
constraints with their names, identity and generated columns, storage options), sequences
with their current values, every row (the rows data migrations and `post_migrate` seeded:
`django_migrations`, content types, the built-in roles, ...), primary key, unique,
exclusion, check and foreign key constraints, indexes, functions (with their
`search_path` setting), triggers, and comments on tables and columns. Every reference to
the template's schema in that DDL (sequence defaults, trigger functions, a function's
`search_path`) is rewritten to the new schema, so nothing in a clone points back. A
template holding anything else (a view, a type, a policy, an ACL, ...) is refused, and
the caller migrates instead: `tests/shared_apps/tenants/test_template.py` compares a
clone with a migrated schema object by object, so a kind of object added by a future
migration is either copied or refused, never silently lost.

Locks: the refresh holds an exclusive transaction-level advisory lock while it migrates;
a clone takes the shared one (without waiting: it falls back to migrating while a refresh
runs), so a clone never reads a template half-way through a migration.
"""

import functools
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from psycopg2 import sql

from shared_apps.tenants import migration_state

logger = logging.getLogger(__name__)

_TEMPLATE_LOCK_ID = 0x7E55E7B
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

CURRENT = "current"
MISSING = "missing"
BEHIND = "behind"
# Holds migrations this code does not know (code older than the database: a rollback, or
# an old worker during a rolling deploy). Left alone: the newer code keeps it current.
AHEAD = "ahead"


def template_schema_name() -> str:
    name = settings.TENANT_TEMPLATE_SCHEMA
    if not _SAFE_NAME.match(name) or name == settings.PUBLIC_SCHEMA_NAME:
        raise ValueError(f"TENANT_TEMPLATE_SCHEMA {name!r} must be a lowercase identifier other than public")
    return name


@functools.cache
def _migrations_on_disk() -> frozenset[tuple[str, str]]:
    # The files do not change under a running process; loading them takes ~0.1 s.
    return frozenset(migration_state.tenant_migrations_on_disk())


def _tenant_labels() -> set[str]:
    return {app for app, _name in _migrations_on_disk()}


def _state(cursor, template: str) -> tuple[str, tuple]:
    """(state, fingerprint): the fingerprint changes whenever the template's contents
    may have (its schema recreated, a migration applied)."""
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
    row = cursor.fetchone()
    if row is None:
        return MISSING, ()
    cursor.execute("SELECT to_regclass(%s)", [f"{template}.django_migrations"])
    if cursor.fetchone()[0] is None:
        return MISSING, ()
    cursor.execute(sql.SQL("SELECT id, app, name FROM {}").format(sql.Identifier(template, "django_migrations")))
    rows = cursor.fetchall()
    labels = _tenant_labels()
    applied = {(app, name) for _id, app, name in rows if app in labels}
    expected = _migrations_on_disk()
    fingerprint = (row[0], frozenset(rows))
    if applied == expected:
        return CURRENT, fingerprint
    if applied < expected:
        return BEHIND, fingerprint
    return AHEAD, fingerprint


def template_state() -> str:
    """Whether the template is `current` (holds exactly the tenant migrations on disk),
    `behind`, `ahead` or `missing`."""
    with connection.cursor() as cursor:
        return _state(cursor, template_schema_name())[0]


def template_refresh(*, verbosity: int = 0) -> str:
    """Bring the template to the migrations on disk: create it if missing, migrate it if
    behind (in one transaction, so a failed migration leaves the previous template). A
    template that is `ahead` is left as it is. Returns the state found."""
    template = template_schema_name()
    connection.set_schema_to_public()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK_ID])
            state, _fingerprint = _state(cursor, template)
            if state == AHEAD:
                logger.warning(
                    "template schema %s holds migrations this code does not know: left alone, "
                    "new schemas are migrated instead of cloned",
                    template,
                )
            if state in (CURRENT, AHEAD):
                return state
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(template)))
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            after, _fingerprint = _state(cursor, template)
        if after != CURRENT:  # pragma: no cover - migrate_schemas raises first
            raise RuntimeError(f"template schema {template} is {after} after migrating it")
    logger.info("template schema %s was %s: migrated", template, state)
    return state


@dataclass
class _Plan:
    """The statements that rebuild the template under another name, with the template's
    name still in them (replaced per clone), or why it cannot be cloned."""

    before_data: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    after_data: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


_plan_cache: dict[tuple, _Plan] = {}
# Stands for the template's schema where a statement reads from it (LIKE, the row
# copy), so that renaming the template's name to the clone's leaves it alone. A NUL can
# appear in no SQL text, so it never collides with anything the catalogue holds.
_SOURCE = "\x00source\x00"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Objects the clone does not copy. Any of them in the template refuses the clone (the
# caller migrates instead), so one added by a migration is never silently left out.
_UNSUPPORTED_QUERIES = {
    "relation kinds other than tables, indexes and sequences": (
        "SELECT relname || ' (' || relkind::text || ')' FROM pg_class "
        "WHERE relnamespace = %(nsp)s AND relkind NOT IN ('r', 'i', 'S', 't')"
    ),
    "partitions, row security, replica identity, ACLs": (
        "SELECT relname FROM pg_class WHERE relnamespace = %(nsp)s AND relkind IN ('r', 'i', 'S') "
        "AND (relispartition OR relrowsecurity OR relacl IS NOT NULL "
        "OR (relkind = 'r' AND relreplident <> 'd'))"
    ),
    "types other than the tables' own": (
        "SELECT typname FROM pg_type t WHERE typnamespace = %(nsp)s AND NOT EXISTS "
        "(SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind IN ('r', 't', 'S')) "
        "AND NOT EXISTS (SELECT 1 FROM pg_type e JOIN pg_class c ON c.oid = e.typrelid "
        "WHERE e.oid = t.typelem AND t.typcategory = 'A' AND c.relkind IN ('r', 't', 'S'))"
    ),
    "aggregates, window functions, function ACLs": (
        "SELECT proname FROM pg_proc WHERE pronamespace = %(nsp)s AND (prokind NOT IN ('f', 'p') OR proacl IS NOT NULL)"
    ),
    "column options (statistics, storage, compression)": (
        "SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' "
        "AND a.attnum > 0 AND NOT a.attisdropped AND (a.attstattarget IS NOT NULL "
        "OR a.attstorage <> t.typstorage OR a.attcompression <> '' OR a.attacl IS NOT NULL "
        "OR a.attoptions IS NOT NULL OR a.attfdwoptions IS NOT NULL)"
    ),
    "invalid, clustered or replica identity indexes": (
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = %(nsp)s AND (NOT i.indisvalid OR NOT i.indisready OR i.indisclustered "
        "OR i.indisreplident)"
    ),
    "constraint triggers, inherited or NOT VALID NOT NULL constraints": (
        "SELECT conname FROM pg_constraint WHERE connamespace = %(nsp)s "
        "AND (contype NOT IN ('p', 'u', 'x', 'c', 'f', 'n') "
        "OR NOT conislocal OR coninhcount > 0 OR (contype = 'n' AND (NOT convalidated OR connoinherit)) "
        "OR (contype = 'c' AND NOT convalidated))"
    ),
    "defaults, checks or indexes using the template's own functions": (
        "SELECT d.classid::regclass::text FROM pg_depend d JOIN pg_proc p ON p.oid = d.refobjid "
        "WHERE d.refclassid = 'pg_proc'::regclass AND p.pronamespace = %(nsp)s "
        "AND d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_class'::regclass)"
    ),
    "disabled triggers": (
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal AND t.tgenabled <> 'O'"
    ),
    "rules and policies": (
        "SELECT rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = %(nsp)s "
        "UNION ALL SELECT polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(nsp)s"
    ),
    "extended statistics, operators, collations, text search objects, extensions": (
        "SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = %(nsp)s "
        "UNION ALL SELECT oprname FROM pg_operator WHERE oprnamespace = %(nsp)s "
        "UNION ALL SELECT opcname FROM pg_opclass WHERE opcnamespace = %(nsp)s "
        "UNION ALL SELECT opfname FROM pg_opfamily WHERE opfnamespace = %(nsp)s "
        "UNION ALL SELECT collname FROM pg_collation WHERE collnamespace = %(nsp)s "
        "UNION ALL SELECT conname FROM pg_conversion WHERE connamespace = %(nsp)s "
        "UNION ALL SELECT cfgname FROM pg_ts_config WHERE cfgnamespace = %(nsp)s "
        "UNION ALL SELECT dictname FROM pg_ts_dict WHERE dictnamespace = %(nsp)s "
        "UNION ALL SELECT extname FROM pg_extension WHERE extnamespace = %(nsp)s "
        "UNION ALL SELECT nspname FROM pg_namespace WHERE oid = %(nsp)s AND nspacl IS NOT NULL "
        "UNION ALL SELECT 'default ACL' FROM pg_default_acl WHERE defaclnamespace = %(nsp)s"
    ),
    "comments on anything but tables and columns": (
        "SELECT d.classoid::regclass::text FROM pg_description d WHERE d.objoid = %(nsp)s "
        "OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = %(nsp)s)) "
        "OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN "
        "(SELECT oid FROM pg_constraint WHERE connamespace = %(nsp)s)) "
        "OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN (SELECT t.oid FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %(nsp)s)) "
        "OR (d.classoid = 'pg_class'::regclass AND d.objoid IN "
        "(SELECT oid FROM pg_class WHERE relnamespace = %(nsp)s AND relkind <> 'r'))"
    ),
}


def _plan_build(cursor, template: str, nsp: int) -> _Plan:
    plan = _Plan()
    params = {"nsp": nsp}
    for what, query in _UNSUPPORTED_QUERIES.items():
        cursor.execute(query, params)
        names = [row[0] for row in cursor.fetchall()]
        if names:
            plan.unsupported.append(f"{what}: {', '.join(sorted(names)[:5])}")
    if plan.unsupported:
        return plan

    schema = _quote(template)
    # Sequences: those of identity columns come with their column; the others are
    # created first (a default may name them) and owned by their column afterwards.
    cursor.execute(
        "SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, "
        "s.seqcache, s.seqcycle, d.deptype, oc.relname, a.attname "
        "FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid "
        "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "LEFT JOIN pg_class oc ON oc.oid = d.refobjid "
        "LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE c.relnamespace = %(nsp)s AND c.relkind = 'S' ORDER BY c.relname",
        params,
    )
    identity_options = {}
    owned_by = []
    sequences = []
    for name, type_name, start, increment, minimum, maximum, cache, cycle, deptype, table, column in cursor.fetchall():
        options = (
            f"START WITH {start} INCREMENT BY {increment} MINVALUE {minimum} MAXVALUE {maximum} "
            f"CACHE {cache} {'CYCLE' if cycle else 'NO CYCLE'}"
        )
        sequences.append(name)
        if deptype == "i":
            identity_options[(table, column)] = f"SEQUENCE NAME {schema}.{_quote(name)} {options}"
            continue
        plan.before_data.append(f"CREATE SEQUENCE {schema}.{_quote(name)} AS {type_name} {options}")
        if deptype == "a":
            owned_by.append(
                f"ALTER SEQUENCE {schema}.{_quote(name)} OWNED BY {schema}.{_quote(table)}.{_quote(column)}"
            )

    cursor.execute(
        "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = %(nsp)s ORDER BY proname, oid", params
    )
    plan.before_data += [row[0] for row in cursor.fetchall()]

    # Tables by LIKE: columns, NOT NULL and check constraints (with their names),
    # defaults, generated columns, indexes and primary key / unique constraints are
    # copied as the expression trees PostgreSQL stores. Re-parsing their text would not
    # always give the same trees back (`x IN ('a', 'b')` reads back as an array of casts).
    cursor.execute(
        "SELECT relname, relpersistence, reloptions FROM pg_class "
        "WHERE relnamespace = %(nsp)s AND relkind = 'r' ORDER BY relname",
        params,
    )
    tables = cursor.fetchall()
    for table, persistence, reloptions in tables:
        unlogged = "UNLOGGED " if persistence == "u" else ""
        options = f" WITH ({', '.join(reloptions)})" if reloptions else ""
        plan.before_data.append(
            f"CREATE {unlogged}TABLE {schema}.{_quote(table)} "
            f"(LIKE {_SOURCE}.{_quote(table)} INCLUDING ALL EXCLUDING IDENTITY){options}"
        )
    cursor.execute(
        "SELECT c.relname, a.attname, a.attidentity, a.attgenerated FROM pg_class c "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' ORDER BY c.relname, a.attnum",
        params,
    )
    copied: dict[str, list[str]] = {table: [] for table, _persistence, _options in tables}
    for table, column, identity, generated in cursor.fetchall():
        if not generated:
            copied[table].append(_quote(column))
        if identity:
            kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
            plan.before_data.append(
                f"ALTER TABLE {schema}.{_quote(table)} ALTER COLUMN {_quote(column)} "
                f"ADD GENERATED {kind} AS IDENTITY ({identity_options[(table, column)]})"
            )
    # LIKE copies a default naming one of the template's sequences as it is: point it at
    # the clone's (nextval('<schema>.seq'::regclass) reads back unchanged).
    cursor.execute(
        "SELECT c.relname, a.attname, pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad "
        "JOIN pg_class c ON c.oid = ad.adrelid JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum "
        "WHERE c.relnamespace = %(nsp)s AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.refobjid "
        "WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass "
        "AND s.relkind = 'S' AND s.relnamespace = %(nsp)s)",
        params,
    )
    for table, column, default in cursor.fetchall():
        plan.before_data.append(
            f"ALTER TABLE {schema}.{_quote(table)} ALTER COLUMN {_quote(column)} SET DEFAULT {default}"
        )
    plan.before_data += owned_by
    for table, columns in copied.items():
        names = ", ".join(columns)
        plan.data.append(
            # Names from the catalogue, quoted: not user input.
            f"INSERT INTO {schema}.{_quote(table)} ({names}) OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT {names} FROM {_SOURCE}.{_quote(table)}"
        )
    # Sequences continue where the template's are (the seeded rows used some values).
    for name in sequences:
        literal = f"{schema}.{_quote(name)}".replace("'", "''")
        source = f"{_SOURCE}.{_quote(name)}".replace("'", "''")
        plan.data.append(
            f"SELECT setval('{literal}', last_value, true) FROM "  # noqa: S608
            f"(SELECT pg_sequence_last_value('{source}'::regclass) AS last_value) AS s WHERE last_value IS NOT NULL"
        )

    # Foreign keys (no expressions in them: their text reads back the same), then triggers.
    cursor.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid WHERE k.connamespace = %(nsp)s AND k.contype = 'f' "
        "ORDER BY c.relname, k.conname",
        params,
    )
    for table, name, definition in cursor.fetchall():
        plan.after_data.append(f"ALTER TABLE {schema}.{_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
    cursor.execute(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname",
        params,
    )
    plan.after_data += [row[0] for row in cursor.fetchall()]
    # LIKE copies the comments of columns, constraints and indexes, not the table's own.
    cursor.execute(
        "SELECT c.relname, d.description FROM pg_description d "
        "JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 "
        "WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' ORDER BY 1",
        params,
    )
    for table, description in cursor.fetchall():
        literal = "'" + description.replace("'", "''") + "'"
        plan.after_data.append(f"COMMENT ON TABLE {schema}.{_quote(table)} IS {literal}")

    _plan_index_names(cursor, template, nsp, plan)
    return plan


# An index as LIKE re-creates it, whatever its name: table, definition after the name,
# constraint kind and deferral.
_INDEX_SHAPES = (
    "SELECT t.relname, x.relname, k.conname, "
    "regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+ ', 'CREATE \\1INDEX ON '), "
    "coalesce(k.contype, ''), coalesce(k.condeferrable, false), coalesce(k.condeferred, false) "
    "FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
    "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid "
    "AND k.contype IN ('p', 'u', 'x') WHERE x.relnamespace = %s"
)


def _plan_index_names(cursor, template: str, nsp: int, plan: _Plan) -> None:
    """LIKE names the indexes it copies itself (`<table>_<columns>_idx`): build the
    tables once in a scratch schema (rolled back), match each index to the template's
    by definition and add the renames that give it the template's name back."""
    scratch = f"{template}_plan"
    cursor.execute(_INDEX_SHAPES, [nsp])
    wanted: dict[tuple, list[str]] = {}
    for table, index, _constraint, shape, *kind in cursor.fetchall():
        wanted.setdefault((table, shape, *kind), []).append(index)
    own = re.compile(rf"\b{re.escape(template)}\b")
    cursor.execute("SAVEPOINT tessera_clone_plan")
    try:
        cursor.execute(f"CREATE SCHEMA {_quote(scratch)}")
        cursor.execute(
            ";\n".join(own.sub(scratch, statement).replace(_SOURCE, _quote(template)) for statement in plan.before_data)
        )
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [scratch])
        cursor.execute(_INDEX_SHAPES, [cursor.fetchone()[0]])
        made: dict[tuple, list[tuple[str, str | None]]] = {}
        for table, index, constraint, shape, *kind in cursor.fetchall():
            made.setdefault((table, shape, *kind), []).append((index, constraint))
    finally:
        cursor.execute("ROLLBACK TO SAVEPOINT tessera_clone_plan")
        cursor.execute("RELEASE SAVEPOINT tessera_clone_plan")
    unmatched = [key for key in set(wanted) | set(made) if len(wanted.get(key, [])) != len(made.get(key, []))]
    if unmatched:
        plan.unsupported.append(f"indexes LIKE does not copy one to one: {sorted(unmatched)[:3]}")
        return
    schema = _quote(template)
    renames = []
    for key, entries in made.items():
        # Identical indexes (the same definition twice) are interchangeable: pair them by name.
        for (index, constraint), target in zip(sorted(entries), sorted(wanted[key]), strict=True):
            if index == target:
                continue
            if constraint:
                statement = f"ALTER TABLE {schema}.{_quote(key[0])} RENAME CONSTRAINT {_quote(constraint)} TO "
            else:
                statement = f"ALTER INDEX {schema}.{_quote(index)} RENAME TO "
            renames.append((statement, target))
    made_names = {index for entries in made.values() for index, _constraint in entries}
    if made_names & {target for _statement, target in renames}:
        # A generated name is another index's final name: go through temporary names.
        temporary = []
        for number, (statement, target) in enumerate(renames):
            temporary_name = f"tessera_clone_{number}"
            plan.before_data.append(statement + _quote(temporary_name))
            if statement.startswith("ALTER TABLE"):
                temporary.append(
                    (
                        statement.rsplit(" RENAME CONSTRAINT ", 1)[0]
                        + " RENAME CONSTRAINT "
                        + _quote(temporary_name)
                        + " TO ",
                        target,
                    )
                )
            else:
                temporary.append((f"ALTER INDEX {schema}.{_quote(temporary_name)} RENAME TO ", target))
        renames = temporary
    plan.before_data += [statement + _quote(target) for statement, target in renames]


def _plan(cursor, template: str, fingerprint: tuple) -> _Plan:
    plan = _plan_cache.get(fingerprint)
    if plan is None:
        plan = _plan_build(cursor, template, fingerprint[0])
        _plan_cache.clear()  # only the current template's plan is worth keeping
        _plan_cache[fingerprint] = plan
    return plan


def template_clone(schema_name: str) -> bool:
    """Create the schema `schema_name` as a copy of the template, in the caller's
    transaction. Returns False, having created nothing, when the template is not current,
    is being refreshed, or holds objects the clone does not copy; the caller then
    migrates the new schema instead."""
    template = template_schema_name()
    if not _SAFE_NAME.match(schema_name) or schema_name == template:
        raise ValueError(f"cannot clone the template into {schema_name!r}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s)", [_TEMPLATE_LOCK_ID])
        if not cursor.fetchone()[0]:
            logger.info("template schema %s is being refreshed: migrating %s instead", template, schema_name)
            return False
        state, fingerprint = _state(cursor, template)
        if state != CURRENT:
            logger.info("template schema %s is %s: migrating %s instead", template, state, schema_name)
            return False
        plan = _plan(cursor, template, fingerprint)
        if plan.unsupported:
            logger.warning(
                "template schema %s holds what a clone does not copy (%s): migrating %s instead",
                template,
                "; ".join(plan.unsupported),
                schema_name,
            )
            return False
        # Every name of the template's schema in the DDL (qualified names, a function's
        # search_path, sequence defaults) becomes the new schema's; the rows are copied
        # from the template by INSERT ... SELECT, untouched by this.
        own = re.compile(rf"\b{re.escape(template)}\b")
        cursor.execute("SELECT current_setting('check_function_bodies')")
        check_function_bodies = cursor.fetchone()[0]
        # Function bodies may name tables created after them (as pg_dump does).
        statements = [f"CREATE SCHEMA {_quote(schema_name)}", "SET LOCAL check_function_bodies = off"]
        statements += [
            own.sub(schema_name, statement).replace(_SOURCE, _quote(template))
            for statement in (*plan.before_data, *plan.data, *plan.after_data)
        ]
        cursor.execute(";\n".join(statements))
        cursor.execute("SELECT set_config('check_function_bodies', %s, true)", [check_function_bodies])
    return True

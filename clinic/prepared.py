"""Querysets compiled to SQL once, for the few lookups that every busy request makes.

Django builds and compiles a queryset to SQL each time it is evaluated. For a lookup by
primary key that compilation is most of what the lookup costs in CPU (about 150 of 190 µs
on the benchmark machine; 430 of 690 µs with five joins), and a booking, a check-in or a
walk-in makes a dozen such lookups. A `PreparedQuery` compiles its queryset once per
database vendor, with stand-in values for its arguments; afterwards it only puts the
arguments in place of the stand-ins and runs the SQL through the connection's cursor, so
that query logging, the tests' query counts and execute wrappers see it like any other
query. Rows become model instances the way Django's own `ModelIterable` makes them
(`select_related` included), or tuples for a `values_list()` queryset; given `updates`,
the statement is the queryset's UPDATE and update() runs it.

    LOCKED_PATIENT = PreparedQuery(
        lambda pk: Patient.objects.select_for_update().filter(pk=pk), pk=int
    )
    patient = LOCKED_PATIENT.get(pk=patient_id)

Arguments are integers, strings, dates or aware datetimes, declared by name. Use it for
fixed-shape lookups on a hot path only; everything else stays a plain queryset.

Threads share the compiled statement (it is never changed after compilation); each runs it
on its own connection. Value converters stay those of the compiling connection's
operations, which read only configuration (the database's time zone).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql.subqueries import UpdateQuery
from django.db.transaction import TransactionManagementError

# Stand-ins: in range for any integer column (an out-of-range value would be compiled away
# as an empty result), and unlike any value a clinic query compares with.
_FIRST_INT_STAND_IN = 1_987_654_001
_SMALLEST_INT, _LARGEST_INT = -(2**63), 2**63 - 1
_FIRST_DATE_STAND_IN = dt.date(1901, 2, 3)
_FIRST_DATETIME_STAND_IN = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
_STRING_STAND_IN = "\x1fprepared-argument-{}\x1f"
_KINDS = (int, str, dt.date, dt.datetime)


@dataclass(frozen=True)
class _Compiled:
    model: type[Model]
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, type], ...]  # (position in params, argument, its type)
    locks: bool  # SELECT ... FOR UPDATE
    converters: list  # [(column, (converter functions, expression))]
    columns: int | None  # trim extra columns that only served the ordering
    shape: str  # "instances", "tuples", "flat" or "update"
    init_list: list[str] | None = None
    model_slice: slice | None = None
    populators: list | None = None


class PreparedQuery:
    def __init__(
        self,
        build: Callable[..., QuerySet],
        /,
        *,
        updates: dict[str, Any] | None = None,
        **arguments: type,
    ):
        """`build(**arguments)` returns the queryset. With `updates` ({field: value or
        expression}), the statement is `queryset.update(**updates)`, run by update()."""
        for name, kind in arguments.items():
            if kind not in _KINDS:
                supported = ", ".join(kind.__name__ for kind in _KINDS)
                raise TypeError(f"argument {name!r}: only {supported} arguments are supported")
        self._build = build
        self._updates = updates
        self._arguments = arguments
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._compiling = threading.Lock()

    def fetch(self, **values: Any) -> list[Any]:
        """Every row: model instances, or tuples (single values when flat) for values_list."""
        connection, compiled, params = self._statement("select", values)
        if params is None:
            return []  # no row has such a key (Django's ORM answers the same)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        rows = [self._converted(compiled, row, connection) for row in rows]
        if compiled.shape == "flat":
            return [row[0] for row in rows]
        if compiled.shape == "tuples":
            return [tuple(row) for row in rows]
        return [self._instance(compiled, row, connection.alias) for row in rows]

    def get(self, **values: Any) -> Any:
        """The one row; the model's DoesNotExist or MultipleObjectsReturned otherwise."""
        rows = self.fetch(**values)
        if len(rows) == 1:
            return rows[0]
        model = self._compiled_for_default().model
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        raise model.MultipleObjectsReturned(
            f"get() returned more than one {model._meta.object_name} -- it returned {len(rows)}!"
        )

    def first(self, **values: Any) -> Any:
        """The first row, or None (order and slice the queryset so that it fetches one)."""
        rows = self.fetch(**values)
        return rows[0] if rows else None

    def update(self, **values: Any) -> int:
        """Run the UPDATE; the number of rows it matched."""
        connection, compiled, params = self._statement("update", values)
        if params is None:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            return cursor.rowcount

    def _statement(
        self, statement: str, values: dict[str, Any]
    ) -> tuple[Any, _Compiled, list | None]:
        """The connection, the compiled statement and its parameters (None: no row can match)."""
        if values.keys() != self._arguments.keys():
            raise TypeError(f"expected the arguments {sorted(self._arguments)}")
        self._check_types(self._arguments, values)
        if (statement == "update") != (self._updates is not None):
            raise TypeError(f"this prepared statement does not {statement}")
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = self._compiled.get((connection.alias, connection.vendor)) or self._compile()
        if compiled.locks and connection.get_autocommit():
            # What Django's compiler says of a locking queryset run outside a transaction.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        if any(
            kind is int and not _SMALLEST_INT <= values[name] <= _LARGEST_INT
            for _position, name, kind in compiled.slots
        ):
            return connection, compiled, None
        params = list(compiled.params)
        for position, name, kind in compiled.slots:
            params[position] = self._adapted(kind, values[name], connection)
        return connection, compiled, params

    @staticmethod
    def _check_types(arguments: dict[str, type], values: dict[str, Any]) -> None:
        """Exactly the declared types: the ORM would convert a value, a prepared statement
        would send it as it is (a naive datetime would be read in another time zone)."""
        for name, kind in arguments.items():
            value = values[name]
            if kind is dt.datetime:
                wrong = not isinstance(value, dt.datetime) or value.tzinfo is None
            elif kind is dt.date:
                wrong = not isinstance(value, dt.date) or isinstance(value, dt.datetime)
            else:
                wrong = not isinstance(value, kind) or isinstance(value, bool)
            if wrong:
                expected = "an aware datetime" if kind is dt.datetime else kind.__name__
                raise TypeError(f"argument {name!r} must be {expected}, not {value!r}")

    @staticmethod
    def _adapted(kind: type, value: Any, connection: Any) -> Any:
        """The value as the field's get_db_prep_value() gives it to the database."""
        if kind is dt.datetime:
            return connection.ops.adapt_datetimefield_value(value)
        if kind is dt.date:
            return connection.ops.adapt_datefield_value(value)
        return value

    # Rows to values, as Django's iterables make them.

    @staticmethod
    def _converted(compiled: _Compiled, row: tuple, connection: Any) -> list:
        row = list(row[: compiled.columns] if compiled.columns is not None else row)
        for position, (functions, expression) in compiled.converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return row

    @staticmethod
    def _instance(compiled: _Compiled, row: list, alias: str) -> Model:
        instance = compiled.model.from_db(alias, compiled.init_list, row[compiled.model_slice])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance

    # Compilation, once per database vendor.

    def _compiled_for_default(self) -> _Compiled:
        connection = connections[DEFAULT_DB_ALIAS]
        return self._compiled.get((connection.alias, connection.vendor)) or self._compile()

    def _stand_ins(self) -> dict[str, Any]:
        stand_ins: dict[str, Any] = {}
        for index, (name, kind) in enumerate(self._arguments.items()):
            if kind is int:
                stand_ins[name] = _FIRST_INT_STAND_IN + index
            elif kind is str:
                stand_ins[name] = _STRING_STAND_IN.format(index)
            elif kind is dt.datetime:
                stand_ins[name] = _FIRST_DATETIME_STAND_IN + dt.timedelta(days=index)
            else:
                stand_ins[name] = _FIRST_DATE_STAND_IN + dt.timedelta(days=index)
        return stand_ins

    def _slots(
        self, params: Any, stand_ins: dict[str, Any], connection: Any
    ) -> tuple[tuple[int, str, type], ...]:
        """Where each argument's stand-in ended up among the compiled parameters."""
        slots = []
        for name, kind in self._arguments.items():
            wanted = self._adapted(kind, stand_ins[name], connection)
            positions = [i for i, param in enumerate(params) if param == wanted]
            if len(positions) != 1:
                raise ValueError(
                    f"argument {name!r} must appear once among the query's parameters "
                    f"(found {len(positions)} times)"
                )
            slots.append((positions[0], name, kind))
        return tuple(slots)

    def _compile(self) -> _Compiled:
        connection = connections[DEFAULT_DB_ALIAS]
        key = (connection.alias, connection.vendor)
        with self._compiling:
            if key in self._compiled:
                return self._compiled[key]
            stand_ins = self._stand_ins()
            queryset = self._build(**stand_ins)
            if queryset.db != DEFAULT_DB_ALIAS:
                raise ValueError("prepared queries read the default database")
            iterable = queryset._iterable_class
            shapes = {
                ModelIterable: "instances",
                ValuesListIterable: "tuples",
                FlatValuesListIterable: "flat",
            }
            if iterable not in shapes:
                raise TypeError("only model and values_list() querysets can be prepared")
            if self._updates is not None:
                # What QuerySet.update() builds.
                query = queryset.query.chain(UpdateQuery)
                query.add_update_values(self._updates)
                query.annotations = {}
                compiler = query.get_compiler(connection=connection)
                sql, params = compiler.as_sql()
                compiled = _Compiled(
                    model=queryset.model,
                    sql=sql,
                    params=tuple(params),
                    slots=self._slots(params, stand_ins, connection),
                    locks=False,
                    converters=[],
                    columns=None,
                    shape="update",
                )
                self._compiled[key] = compiled
                return compiled
            compiler = queryset.query.get_compiler(connection=connection)
            locks = queryset.query.select_for_update and connection.features.has_select_for_update
            if locks and connection.get_autocommit():
                raise TransactionManagementError(
                    "select_for_update cannot be used outside of a transaction."
                )
            sql, params = compiler.as_sql()
            slots = self._slots(params, stand_ins, connection)
            fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
            compiled = _Compiled(
                model=queryset.model,
                sql=sql,
                params=tuple(params),
                slots=slots,
                locks=bool(locks),
                converters=list(compiler.get_converters(fields).items()),
                columns=compiler.col_count if compiler.has_extra_select else None,
                shape=shapes[iterable],
            )
            if compiled.shape == "instances":
                klass_info = compiler.klass_info
                select_fields = klass_info["select_fields"]
                start, end = select_fields[0], select_fields[-1] + 1
                compiled = replace(
                    compiled,
                    model=klass_info["model"],
                    init_list=[column[0].target.attname for column in compiler.select[start:end]],
                    model_slice=slice(start, end),
                    populators=get_related_populators(
                        klass_info, compiler.select, connection.alias
                    ),
                )
            self._compiled[key] = compiled
            return compiled


# --- Inserts -------------------------------------------------------------------------------

_INSERTS: dict[tuple[type[Model], str, str, tuple[str, ...]], str] = {}


class PreparedInsert:
    """Model mixin: `save()` of a new row runs an INSERT whose SQL is built once per model and
    database instead of compiled on every save (Django builds and compiles an InsertQuery each
    time: about half of what an insert costs the application, 250 against 130 µs measured on
    MariaDB). Everything else about save() stays Django's: signals, `pre_save()` of the
    fields (auto_now_add, defaults), the model's own save(). The new primary key comes from
    the cursor, as Django reads it on backends that cannot return columns.

    Only the plain case is prepared: an auto-incremented primary key left to the database,
    plain values (no expressions, no database defaults) and a MySQL-family or SQLite
    database; anything else is Django's own insert.
    """

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        model = manager.model  # the class whose table _save_table writes (a parent's, too)
        meta = model._meta
        connection = connections[using]
        if (
            raw
            or not fields
            or connection.vendor not in ("mysql", "sqlite")
            or meta.auto_field is None
            or list(returning_fields) != [meta.auto_field]
            or any(field.primary_key or hasattr(field, "get_placeholder") for field in fields)
            or any(
                hasattr(getattr(self, field.attname, None), "resolve_expression")
                for field in fields
            )
        ):
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        values = [field.pre_save(self, True) for field in fields]
        key = (model, connection.alias, connection.vendor, tuple(f.column for f in fields))
        sql = _INSERTS.get(key)
        if sql is None:
            sql = _INSERTS[key] = insert_sql(model, fields, connection)
        params = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(connection.ops.last_insert_id(cursor, meta.db_table, meta.auto_field.column),)]


def insert_sql(model: type[Model], fields: list, connection: Any) -> str:
    """The INSERT of one row of `fields`, as Django's compiler writes it without RETURNING."""
    quote = connection.ops.quote_name
    return "{} {} ({}) VALUES ({})".format(
        connection.ops.insert_statement(),
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )

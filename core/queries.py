"""Small query helpers for hot paths."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
R = TypeVar("R")  # what a row is: a model instance, or a tuple of `values_list`

# Tests set this (tests/conftest.py): every call of a `Compiled` read is compiled afresh as
# well and compared with the SQL and parameters it reused, so a read whose queryset hides a
# value of its own (a `timezone.now()` in a manager method) fails the suite instead of
# freezing that value for the life of the process.
VERIFY = False


def unique_or_none(queryset: QuerySet[M]) -> M | None:
    """The row a lookup on a unique key finds, or None: `.first()` without its ORDER BY.

    `.first()` orders by the primary key to choose among several rows; on a unique key
    there is nothing to choose, and compiling that ORDER BY is about a third of a small
    query's CPU in Django (docs/benchmarks.md, "Booking throughput"). The booking request
    makes several such lookups.
    """
    return next(iter(queryset[:1]), None)


@dataclass(frozen=True)
class _Plan:
    alias: str  # the database
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]  # where each argument goes among `params`
    model: type[Model] | None  # None: the rows are tuples (`values_list`)
    fields: tuple[int, int]  # the model's own columns, or the tuple's: row[start:end]
    init_list: list[str]
    related: list[Any]  # Django's populators of select_related objects
    annotations: tuple[tuple[str, int], ...]  # (attribute, column) of each `annotate`d value
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]
    for_update: bool


class Compiled(Generic[R]):
    """A read of one fixed shape whose SQL Django compiles once per process.

        slot_to_book = Compiled(lambda doctor_id, start: Slot.objects.filter(doctor_id=doctor_id, start=start))
        slot = slot_to_book.first(doctor.pk, start)

    `first` is `unique_or_none(...)` of the same queryset, `all` is `list(...)`; a row is
    what the queryset yields, a model instance or a `values_list` tuple. Building and
    compiling a small queryset costs Django 0.3-0.5 ms of CPU, several times what PostgreSQL
    takes to answer it (docs/benchmarks.md, "Booking throughput"); a booking request makes
    several. The first call builds the queryset with its arguments, compiles it, and finds
    where each argument went among the SQL's parameters; later calls put their arguments
    there and only run the SQL, building the rows into models (their `select_related` ones
    and `annotate`d values) or tuples as Django does.

    So `build` must give the same SQL for any arguments, and each argument must reach it
    unchanged as one parameter (a key, a string, a datetime): a value the queryset makes
    itself (`timezone.now()`) has to be an argument too. Where an argument cannot be told
    apart from the query's own parameters (equal to one of them), that call runs the
    queryset as usual and a later one compiles it. Tests verify every reuse (`VERIFY`).
    """

    def __init__(self, build: Callable[..., QuerySet[Any, R]]) -> None:
        self.build = build
        self._plans: dict[bool, _Plan] = {}  # by "first row only"

    def first(self, *args: Any) -> R | None:
        rows = self._rows(args, first=True)
        return rows[0] if rows else None

    def all(self, *args: Any) -> list[R]:
        return self._rows(args, first=False)

    def _queryset(self, args: Sequence[Any], *, first: bool) -> QuerySet[Any, R]:
        queryset = self.build(*args)
        return queryset[:1] if first else queryset

    def _rows(self, args: Sequence[Any], *, first: bool) -> list[R]:
        plan = self._plans.get(first)
        if plan is None:
            queryset = self._queryset(args, first=first)
            plan = _compile(queryset, args)
            if plan is None:
                return list(queryset)
            self._plans[first] = plan
        params = list(plan.params)
        for position, arg in zip(plan.positions, args, strict=True):
            params[position] = arg
        if VERIFY:
            fresh = self._queryset(args, first=first)
            assert fresh.query.sql_with_params() == (plan.sql, tuple(params)), (
                f"a compiled read changed shape or hides a value of its own: {plan.sql}"
            )
        return _run(plan, params)


def _compile(queryset: QuerySet[Any, Any], args: Sequence[Any]) -> _Plan | None:
    # Only what ModelIterable or ValuesListIterable would build from the row alone (these
    # are their own attributes).
    tuples = queryset._iterable_class is ValuesListIterable
    plain = tuples or queryset._iterable_class is ModelIterable
    if not plain or queryset._known_related_objects or queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
        return None
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    positions = []
    for arg in args:
        found = [i for i, param in enumerate(params) if type(param) is type(arg) and param == arg]
        if len(found) != 1:
            return None
        positions.append(found[0])
    if len(set(positions)) != len(positions):
        return None
    select = compiler.select
    model: type[Model] | None = None
    init_list: list[str] = []
    related: list[Any] = []
    annotations: tuple[tuple[str, int], ...] = ()
    if tuples:
        # As ValuesListIterable: the selected columns, in order (the compiler may add more).
        fields = (0, compiler.col_count)
    elif compiler.klass_info is None:
        return None
    else:
        klass_info = compiler.klass_info
        model = klass_info["model"]
        fields = (klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1)
        init_list = [column.target.attname for column, _sql, _alias in select[fields[0] : fields[1]]]
        # django-stubs declare Django 6's signature (with fetch_mode); 5.2 takes these three.
        related = get_related_populators(klass_info, select, queryset.db)  # type: ignore[call-arg]
        annotations = tuple(compiler.annotation_col_map.items())
    converters = compiler.get_converters([column for column, _sql, _alias in select])
    return _Plan(
        alias=queryset.db,
        sql=sql,
        params=tuple(params),
        positions=tuple(positions),
        model=model,
        fields=fields,
        init_list=init_list,
        related=related,
        annotations=annotations,
        converters=list(converters.items()),
        for_update=queryset.query.select_for_update,
    )


def _run(plan: _Plan, params: list[Any]) -> list[Any]:
    connection = connections[plan.alias]
    if plan.for_update and connection.get_autocommit():
        # What Django's compiler says for a lock outside a transaction.
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        found = cursor.fetchall()
    start, end = plan.fields
    if plan.model is None and not plan.converters:
        # psycopg's own tuples, with nothing to convert: no copy of each row.
        return found if not found or len(found[0]) == end else [raw[start:end] for raw in found]
    instances: list[Any] = []
    for raw in found:
        row = list(raw)
        for position, (functions, expression) in plan.converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        if plan.model is None:
            instances.append(tuple(row[start:end]))
            continue
        instance = plan.model.from_db(plan.alias, plan.init_list, row[start:end])
        for populator in plan.related:
            populator.populate(row, instance)
        for attribute, column in plan.annotations:
            setattr(instance, attribute, row[column])
        instances.append(instance)
    return instances

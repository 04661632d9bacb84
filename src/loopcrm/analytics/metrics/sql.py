"""Small SQL pieces the metric engine builds on: epoch seconds, calendar windows and buckets."""

from __future__ import annotations

import datetime as dt

from django.db.models import DateField, Expression, F, FloatField, Func
from django.db.models.functions import Trunc
from django.utils import timezone


class Epoch(Func):
    """Seconds since 1970 of a timestamp, as a float, computed by the database (PostgreSQL, SQLite)."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:
            raise NotImplementedError(f"Epoch is written for PostgreSQL and SQLite, not {connection.vendor}.")
        return super().as_sql(compiler, connection, template=template, **extra)


class SecondsBetween(Func):
    """Seconds from the first timestamp to the second, as a float. On PostgreSQL `date_part` of the interval:
    EXTRACT answers numeric since PostgreSQL 14, and numeric arithmetic over 100,000 rows costs more than
    the scan."""

    arity = 2
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        start, end = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"date_part('epoch', {end[0]} - {start[0]})", (*end[1], *start[1])

    def as_sqlite(self, compiler, connection, **extra):
        start, end = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"((julianday({end[0]}) - julianday({start[0]})) * 86400.0)", (*end[1], *start[1])

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"SecondsBetween is written for PostgreSQL and SQLite, not {connection.vendor}.")


def minutes_between(start: str, end: str) -> Expression:
    """Wall-clock minutes from one timestamp column to another, as a float."""
    return SecondsBetween(F(start), F(end)) / 60.0


def bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware [first moment, moment after the last day) of a window of days in the current time zone."""
    zone = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min).replace(tzinfo=zone)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min).replace(tzinfo=zone)
    return low, high


def bucket_expression(column: str | Expression, grain: str) -> Expression:
    """The first day of the day, week (Monday) or month a timestamp falls in, in the current time zone."""
    expression = F(column) if isinstance(column, str) else column
    return Trunc(expression, grain, output_field=DateField(), tzinfo=timezone.get_current_timezone())


def bucket_of(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def next_bucket(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day + dt.timedelta(days=7)
    if grain == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=1)


def buckets(start: dt.date, end: dt.date, grain: str) -> list[dt.date]:
    """Every bucket start from the one holding `start` to the one holding `end`."""
    out, day = [], bucket_of(start, grain)
    while day <= end:
        out.append(day)
        day = next_bucket(day, grain)
    return out


def as_date(value) -> dt.date:
    """A bucket value from the database as a date (SQLite may answer a string or a datetime)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value

"""Times and dates a client sends far outside any real one (issue 11): "0001-01-01T00:00:00+14:00"
overflowed when moved to UTC ("Unexpected error."), "9999-12-31" when a day was added to it. Every Date
and DateTime is now held to EARLIEST_YEAR..LATEST_YEAR where it is coerced, variables and literals alike.
"""

from __future__ import annotations

import json

import pytest

from models.user import Role
from resolvers.bounds import EARLIEST_YEAR, LATEST_YEAR
from tests.app.hostile import codes
from tests.factories import Factory

PENDING = "query($d: DateTime) { pendingCallbacks(dueBefore: $d) { __typename } }"
STATISTICS = """query($c: ID!, $from: Date, $to: Date) {
  campaignStatistics(campaignId: $c, from: $from, to: $to) { __typename } }"""


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", f"{EARLIEST_YEAR - 1}-12-31T23:59:59+00:00",
     f"{LATEST_YEAR + 1}-01-01T00:00:00+00:00"],
)
async def test_times_outside_the_supported_years_are_refused_at_coercion(factory: Factory, moment: str) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    literal = PENDING.replace("($d: DateTime)", "").replace("$d", json.dumps(moment))
    for document, variables in ((PENDING, {"d": moment}), (literal, None)):
        result = await factory.execute_raw(document, variables, user=supervisor)
        assert result.data is None and codes(result) == ["BAD_USER_INPUT"], result.errors
        assert f"between {EARLIEST_YEAR} and {LATEST_YEAR}" in result.errors[0].message


async def test_dates_outside_the_supported_years_are_refused_in_arguments_and_inputs(factory: Factory) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    admin = await factory.user(Role.ADMIN)
    for bounds in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": f"{LATEST_YEAR + 1}-01-01"}):
        result = await factory.execute_raw(STATISTICS, {"c": "1", **bounds}, user=supervisor)
        assert codes(result) == ["BAD_USER_INPUT"], (bounds, result.errors)
    create = """mutation($input: CampaignCreateInput!) { campaignCreate(input: $input) { __typename } }"""
    result = await factory.execute_raw(
        create, {"input": {"name": "Far", "startDate": "9999-12-31"}}, user=admin
    )
    assert codes(result) == ["BAD_USER_INPUT"], result.errors


async def test_the_edges_of_the_supported_years_are_accepted(factory: Factory) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    for moment in (f"{EARLIEST_YEAR}-01-01T00:00:00+14:00", f"{LATEST_YEAR}-12-31T23:59:59-14:00"):
        result = await factory.execute_raw(PENDING, {"d": moment}, user=supervisor)
        assert result.errors is None, result.errors
    result = await factory.execute_raw(
        STATISTICS, {"c": "1", "from": f"{EARLIEST_YEAR}-01-01", "to": f"{LATEST_YEAR}-12-31"}, user=supervisor
    )
    assert result.errors is None, result.errors


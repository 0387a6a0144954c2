"""The cost preview's arithmetic, against cases worked out by hand from stated inputs.

Every expected value is computed here from the inputs the test states (events a day, the
share of reads) and the prices of the shipped price list, the way a person would with a
calculator: volume a day x 30 days x the unit price. Nothing is a number copied from the
code's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.account.activity import Activity, ManagementCopy, RegionActivity
from wizard.model.answers import Answers
from wizard.model.answers_file import AnswersError, parse_answers
from wizard.model.cost import CostEstimate, CostItem, usd_range
from wizard.plan.cost import (
    BYTES_PER_EVENT,
    COMPRESSED_BYTES_PER_EVENT,
    DAYS_PER_MONTH,
    DEFAULT_DATA_PER_DAY,
    DEFAULT_MANAGEMENT_PER_DAY,
    DEFAULT_READ_SHARE,
    DIGEST_FILES_PER_DAY,
    GB,
    LOG_FILES_PER_DAY,
    LOGS_METADATA_BYTES,
    MEASURED_SPREAD,
    estimate_cost,
    load_prices,
    volume_for,
)

PRICES = load_prices()
HOME = "us-east-1"
N = 100_000
"""Management events a day the tests state."""
READ = 80
"""The read-only share the tests state, in percent."""


def unit(name: str, region: str = HOME) -> float:
    """One thing's price (one event, one GB) from the shipped price list."""
    price = PRICES.prices[name]
    return price.regions.get(region, price.default) / price.per


def answers(**sections: dict[str, Any]) -> Answers:
    """A single-region trail with SSE-S3 and the stated volume, unless overridden."""
    data: dict[str, Any] = {
        "trail": {"name": "acme", "multi_region": False},
        "bucket": {"name": "acme-logs-cost"},
        "encryption": {"type": "sse-s3"},
        "cost": {"management_events_per_day": N, "read_only_percent": READ},
    }
    data.update(sections)
    return Answers.model_validate(data)


def estimate(a: Answers, *, copies: list[ManagementCopy] | None = None, **kw: Any) -> CostEstimate:
    volume = volume_for(a, activity=kw.pop("activity", None), enabled_regions=kw.pop("regions", 4))
    return estimate_cost(
        a,
        home_region=HOME,
        bucket_region=kw.pop("bucket_region", HOME),
        volume=volume,
        copies=copies or [],
        **kw,
    )


def item(cost: CostEstimate, what: str) -> CostItem:
    found = [i for i in cost.items if i.what.startswith(what)]
    assert len(found) == 1, [i.what for i in cost.items]
    return found[0]


def cents(value: float) -> float:
    return round(value, 2)


def other_trail(**fields: Any) -> ManagementCopy:
    """Another trail of the account, logging all management events in every region."""
    values: dict[str, Any] = {
        "name": "security-trail",
        "arn": f"arn:aws:cloudtrail:{HOME}:123456789012:trail/security-trail",
        "home_region": HOME,
        "multi_region": True,
        "logging": True,
        "read": True,
        "write": True,
    }
    values.update(fields)
    return ManagementCopy(**values)


# ------------------------------------------------------------------ management events


def test_the_first_copy_of_management_events_is_free() -> None:
    cost = estimate(answers())

    management = item(cost, "Management events")
    assert (management.monthly_usd_low, management.monthly_usd_high) == (0.0, 0.0)
    assert "first and free" in management.basis
    assert "set in the answers file" in management.basis


def test_a_second_copy_of_management_events_is_charged_per_event() -> None:
    cost = estimate(answers(), copies=[other_trail()])

    expected = cents(N * DAYS_PER_MONTH * unit("cloudtrail_management_copy"))
    management = item(cost, "Management events")
    assert (management.monthly_usd_low, management.monthly_usd_high) == (expected, expected)
    assert "security-trail" in management.basis
    assert "additional copy" in management.basis


def test_another_trail_recording_only_writes_charges_only_this_trails_writes() -> None:
    cost = estimate(answers(), copies=[other_trail(read=False)])

    writes = N * (100 - READ) / 100
    expected = cents(writes * DAYS_PER_MONTH * unit("cloudtrail_management_copy"))
    management = item(cost, "Management events")
    assert (management.monthly_usd_low, management.monthly_usd_high) == (expected, expected)


def test_a_trail_that_does_not_log_is_no_copy() -> None:
    cost = estimate(answers(), copies=[other_trail(logging=False)])

    assert item(cost, "Management events").monthly_usd_high == 0.0


def test_a_trail_whose_settings_cannot_be_read_raises_only_the_high_end() -> None:
    unknown = other_trail(read=None, write=None, error="could not read GetEventSelectors")
    cost = estimate(answers(), copies=[unknown])

    full = cents(N * DAYS_PER_MONTH * unit("cloudtrail_management_copy"))
    management = item(cost, "Management events")
    assert (management.monthly_usd_low, management.monthly_usd_high) == (0.0, full)
    assert "could not be read" in management.basis


def test_a_single_region_trail_elsewhere_costs_its_regions_measured_share() -> None:
    # A multi-region trail; another trail records eu-west-1 only, where a quarter of the
    # measured events happen (exact 24-hour counts of 300 and 100 events).
    a = answers(
        trail={"name": "acme"},
        cost={"read_only_percent": READ},
    )
    activity = Activity(
        home_region=HOME,
        regions=[
            RegionActivity(region=HOME, events=300, complete=True, calls=7),
            RegionActivity(region="eu-west-1", events=100, complete=True, calls=2),
        ],
    )
    elsewhere = other_trail(home_region="eu-west-1", multi_region=False)
    cost = estimate(a, copies=[elsewhere], activity=activity, regions=2)

    low, high = MEASURED_SPREAD["exact"]
    per_day = 400
    share = 100 / 400
    price = DAYS_PER_MONTH * unit("cloudtrail_management_copy")
    management = item(cost, "Management events")
    assert management.monthly_usd_low == cents(per_day * low * share * price)
    assert management.monthly_usd_high == cents(per_day * high * share * price)


def test_read_only_management_events_record_only_the_read_share() -> None:
    cost = estimate(answers(events={"management": "read"}), copies=[other_trail()])

    reads = N * READ / 100
    expected = cents(reads * DAYS_PER_MONTH * unit("cloudtrail_management_copy"))
    assert item(cost, "Management events").monthly_usd_high == expected


# ------------------------------------------------------------------ other event kinds


def test_data_events_are_charged_from_the_first_copy() -> None:
    a = answers(
        events={"data": [{"type": "s3"}, {"type": "lambda"}]},
        cost={"management_events_per_day": N, "data_events_per_day": 2_000_000},
    )
    cost = estimate(a)

    expected = cents(2_000_000 * DAYS_PER_MONTH * unit("cloudtrail_data_events"))
    data = item(cost, "Data events")
    assert (data.monthly_usd_low, data.monthly_usd_high) == (expected, expected)
    assert "s3, lambda" in data.what


def test_data_events_without_a_number_use_the_stated_default_per_selector() -> None:
    a = answers(events={"data": [{"type": "s3"}, {"type": "dynamodb"}]})
    cost = estimate(a)

    low, high = (
        2 * n * DAYS_PER_MONTH * unit("cloudtrail_data_events") for n in DEFAULT_DATA_PER_DAY
    )
    data = item(cost, "Data events")
    assert (data.monthly_usd_low, data.monthly_usd_high) == (cents(low), cents(high))
    assert "stated default" in data.basis


def test_network_activity_events_are_priced_per_event() -> None:
    a = answers(
        events={"network": [{"source": "s3.amazonaws.com"}]},
        cost={"management_events_per_day": N, "network_activity_events_per_day": 300_000},
    )
    cost = estimate(a)

    expected = cents(300_000 * DAYS_PER_MONTH * unit("cloudtrail_network_events"))
    assert item(cost, "Network activity events").monthly_usd_high == expected


def test_insights_analyse_writes_for_the_call_rate_and_everything_for_the_error_rate() -> None:
    a = answers(events={"insights": ["ApiCallRateInsight", "ApiErrorRateInsight"]})
    cost = estimate(a)

    writes = N * (100 - READ) / 100
    analysed = writes + N  # call rate: the writes; error rate: reads and writes
    expected = cents(analysed * DAYS_PER_MONTH * unit("cloudtrail_insights"))
    assert item(cost, "CloudTrail Insights").monthly_usd_high == expected


def test_insights_on_data_events_analyse_every_data_event_per_type() -> None:
    a = answers(
        events={
            "data": [{"type": "s3"}],
            "data_insights": ["ApiCallRateInsight", "ApiErrorRateInsight"],
        },
        cost={"management_events_per_day": N, "data_events_per_day": 50_000},
    )
    cost = estimate(a)

    expected = cents(2 * 50_000 * DAYS_PER_MONTH * unit("cloudtrail_insights"))
    assert item(cost, "CloudTrail Insights on data events").monthly_usd_high == expected


# ------------------------------------------------------------------ storage and delivery


def test_s3_storage_holds_the_stated_months_of_compressed_log_files() -> None:
    a = answers(cost={"management_events_per_day": N, "storage_months": 6})
    cost = estimate(a)

    gb_a_day = N * COMPRESSED_BYTES_PER_EVENT / GB
    expected = cents(gb_a_day * DAYS_PER_MONTH * 6 * unit("s3_standard_storage"))
    storage = item(cost, "S3 storage")
    assert (storage.monthly_usd_low, storage.monthly_usd_high) == (expected, expected)
    assert "6 months" in storage.basis


def test_s3_storage_is_priced_in_the_buckets_region() -> None:
    cost = estimate(answers(), bucket_region="eu-central-1")

    expected = cents(
        N
        * COMPRESSED_BYTES_PER_EVENT
        / GB
        * DAYS_PER_MONTH
        * 12
        * unit("s3_standard_storage", "eu-central-1")
    )
    assert item(cost, "S3 storage").monthly_usd_high == expected
    assert "(eu-central-1)" in item(cost, "S3 storage").basis


def test_a_region_without_its_own_price_uses_the_default_and_says_so() -> None:
    cost = estimate(answers(), bucket_region="me-south-1")

    expected = cents(
        N
        * COMPRESSED_BYTES_PER_EVENT
        / GB
        * DAYS_PER_MONTH
        * 12
        * unit("s3_standard_storage", PRICES.default_region)
    )
    assert item(cost, "S3 storage").monthly_usd_high == expected
    assert any("me-south-1" in note and PRICES.default_region in note for note in cost.assumptions)


def test_log_and_digest_files_are_written_per_region() -> None:
    # Single-region: one region's log files, plus hourly digests (log file validation).
    cost = estimate(answers())
    files = LOG_FILES_PER_DAY + DIGEST_FILES_PER_DAY
    expected = cents(files * DAYS_PER_MONTH * unit("s3_put_requests"))
    requests = item(cost, "S3 requests")
    assert (requests.monthly_usd_low, requests.monthly_usd_high) == (expected, expected)

    # Multi-region over 4 regions: the low end counts one region with log files, the high
    # end all four; digests are written in all four either way.
    multi = estimate(answers(trail={"name": "acme"}), regions=4)
    digests = 4 * DIGEST_FILES_PER_DAY
    low = (LOG_FILES_PER_DAY + digests) * DAYS_PER_MONTH * unit("s3_put_requests")
    high = (4 * LOG_FILES_PER_DAY + digests) * DAYS_PER_MONTH * unit("s3_put_requests")
    requests = item(multi, "S3 requests")
    assert (requests.monthly_usd_low, requests.monthly_usd_high) == (cents(low), cents(high))


def test_a_new_kms_key_and_a_data_key_per_log_file() -> None:
    cost = estimate(answers(encryption={"type": "sse-kms", "key": "new"}))

    key = item(cost, "KMS key")
    assert key.monthly_usd_high == cents(PRICES.prices["kms_key_month"].default)
    expected = cents(LOG_FILES_PER_DAY * DAYS_PER_MONTH * unit("kms_requests"))
    assert item(cost, "KMS requests").monthly_usd_high == expected


def test_an_existing_key_is_not_charged_again() -> None:
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    cost = estimate(answers(encryption={"type": "sse-kms", "key": key_arn}))

    assert item(cost, "KMS key").monthly_usd_high == 0.0
    assert "already paid for" in item(cost, "KMS key").basis


def test_sse_s3_has_no_kms_items() -> None:
    assert not [i for i in estimate(answers()).items if i.what.startswith("KMS")]


def test_cloudwatch_logs_ingestion_and_storage_over_the_retention() -> None:
    a = answers(cloudwatch_logs={"log_group": "acme-trail", "retention_days": 90})
    cost = estimate(a)

    ingested = N * (BYTES_PER_EVENT + LOGS_METADATA_BYTES) / GB * DAYS_PER_MONTH
    assert item(cost, "CloudWatch Logs ingestion").monthly_usd_high == cents(
        ingested * unit("logs_ingestion")
    )
    stored = N * (COMPRESSED_BYTES_PER_EVENT + LOGS_METADATA_BYTES) / GB * 90
    assert item(cost, "CloudWatch Logs storage").monthly_usd_high == cents(
        stored * unit("logs_storage")
    )


def test_cloudwatch_logs_storage_never_holds_more_than_the_months_priced() -> None:
    a = answers(
        cloudwatch_logs={"log_group": "acme-trail", "retention_days": 3653},
        cost={"management_events_per_day": N, "storage_months": 2},
    )
    cost = estimate(a)

    stored = N * (COMPRESSED_BYTES_PER_EVENT + LOGS_METADATA_BYTES) / GB * 2 * DAYS_PER_MONTH
    assert item(cost, "CloudWatch Logs storage").monthly_usd_high == cents(
        stored * unit("logs_storage")
    )


def test_sns_sends_one_notification_per_log_file() -> None:
    cost = estimate(answers(notifications={"sns_topic": "acme-trail-files"}))

    expected = cents(LOG_FILES_PER_DAY * DAYS_PER_MONTH * unit("sns_publish"))
    assert item(cost, "SNS notifications").monthly_usd_high == expected


def test_the_total_is_the_sum_of_the_items() -> None:
    a = answers(
        encryption={"type": "sse-kms", "key": "new"},
        cloudwatch_logs={"log_group": "acme-trail"},
        notifications={"sns_topic": "acme-trail-files"},
        events={"data": [{"type": "s3"}], "insights": ["ApiErrorRateInsight"]},
    )
    cost = estimate(a, copies=[other_trail()])

    assert cost.total.monthly_usd_low == cents(sum(i.monthly_usd_low for i in cost.items))
    assert cost.total.monthly_usd_high == cents(sum(i.monthly_usd_high for i in cost.items))
    assert cost.total.monthly_usd_low < cost.total.monthly_usd_high
    assert cost.prices_as_of == PRICES.as_of
    assert cost.prices_region == HOME


# ------------------------------------------------------------------ volume


def test_without_activity_or_answers_the_stated_default_is_priced_and_said() -> None:
    a = answers(cost={})
    volume = volume_for(a, activity=None, enabled_regions=None)

    assert volume.management == tuple(float(n) for n in DEFAULT_MANAGEMENT_PER_DAY)
    assert volume.read_share == DEFAULT_READ_SHARE
    assert "stated default" in volume.management_source


def test_a_whole_day_counted_exactly_is_spread_by_the_stated_factors() -> None:
    activity = Activity(
        home_region=HOME,
        regions=[RegionActivity(region=HOME, events=40, complete=True, read_only=30, calls=1)],
    )
    volume = volume_for(answers(cost={}), activity=activity, enabled_regions=None)

    low, high = MEASURED_SPREAD["exact"]
    assert volume.management == (40 * low, 40 * high)
    assert volume.read_share == 30 / 40
    assert "every event of the last 24 hours counted" in volume.management_source


def test_a_rate_is_extrapolated_to_a_day_when_the_pages_run_out() -> None:
    # 150 events in the last half hour: 150 / 1800 s x 86400 s a day.
    activity = Activity(
        home_region=HOME,
        regions=[
            RegionActivity(region=HOME, events=150, span_seconds=1800, complete=False, calls=3)
        ],
    )
    volume = volume_for(answers(cost={}), activity=activity, enabled_regions=None)

    per_day = 150 / 1800 * 86400
    low, high = MEASURED_SPREAD["extrapolated"]
    assert volume.management == pytest.approx((per_day * low, per_day * high))
    assert "extrapolated" in volume.management_source


def test_unread_regions_count_as_the_average_of_the_other_regions_read() -> None:
    activity = Activity(
        home_region=HOME,
        regions=[
            RegionActivity(region=HOME, events=100, complete=True),
            RegionActivity(region="eu-west-1", events=20, complete=True),
            RegionActivity(region="eu-west-2", events=40, complete=True),
        ],
        unsampled=["eu-west-3", "eu-north-1"],
    )
    a = answers(trail={"name": "acme"}, cost={})
    volume = volume_for(a, activity=activity, enabled_regions=5)

    per_day = 100 + 20 + 40 + 2 * (20 + 40) / 2
    low, _high = MEASURED_SPREAD["exact"]
    assert volume.management[0] == pytest.approx(per_day * low)
    assert "2 regions not read" in volume.management_source


def test_excluded_sources_measured_in_the_activity_are_subtracted() -> None:
    activity = Activity(
        home_region=HOME,
        regions=[
            RegionActivity(
                region=HOME,
                events=200,
                complete=True,
                read_only=200,
                sources={"kms.amazonaws.com": 50},
            )
        ],
    )
    a = answers(events={"exclude_sources": ["kms.amazonaws.com"]}, cost={})
    cost = estimate(a, activity=activity, copies=[other_trail()])

    low, high = MEASURED_SPREAD["exact"]
    kept = 200 * (1 - 50 / 200)
    price = DAYS_PER_MONTH * unit("cloudtrail_management_copy")
    management = item(cost, "Management events")
    assert management.monthly_usd_low == cents(kept * low * price)
    assert management.monthly_usd_high == cents(kept * high * price)


def test_numbers_in_the_answers_file_override_the_measured_activity() -> None:
    activity = Activity(
        home_region=HOME, regions=[RegionActivity(region=HOME, events=5, complete=True)]
    )
    volume = volume_for(answers(), activity=activity, enabled_regions=None)

    assert volume.management == (float(N), float(N))
    assert volume.read_share == READ / 100
    assert "cost.management_events_per_day" in volume.management_source


def test_an_organization_trail_says_member_accounts_are_not_priced() -> None:
    a = answers(trail={"name": "acme", "organization": True})
    cost = estimate(a)

    assert any("member account" in note for note in cost.assumptions)


def test_another_partition_is_said_to_be_priced_at_commercial_prices() -> None:
    cost = estimate(answers(), partition="aws-cn")

    assert any("aws-cn" in note for note in cost.assumptions)


def test_usd_range_reads_as_people_write_money() -> None:
    assert usd_range(1.2, 1.2) == "$1.20"
    assert usd_range(0.0, 1234.5) == "$0.00 to $1,234.50"
    assert usd_range(0.001, 0.001) == "under $0.01"


def test_the_price_list_names_its_source_and_date_for_every_price() -> None:
    for name, price in PRICES.prices.items():
        assert price.source.startswith("https://aws.amazon.com/"), name
        assert price.as_of >= PRICES.as_of, name
        assert price.default > 0, name
        assert PRICES.default_region not in price.regions or (
            price.regions[PRICES.default_region] == price.default
        ), name


def test_an_organization_trail_covering_this_account_makes_this_copy_a_second_one() -> None:
    org = other_trail(
        name="aws-controltower-BaselineCloudTrail",
        arn="arn:aws:cloudtrail:us-east-1:111111111111:trail/aws-controltower-BaselineCloudTrail",
        organization=True,
        owner_account="111111111111",
    )
    cost = estimate(answers(), copies=[org])

    expected = cents(N * DAYS_PER_MONTH * unit("cloudtrail_management_copy"))
    management = item(cost, "Management events")
    assert management.monthly_usd_low == expected
    assert "organization trail of 111111111111" in management.basis


def test_the_docs_give_the_price_lists_date() -> None:
    page = Path(__file__).resolve().parents[3] / "docs" / "wizard" / "review.md"
    assert f"as of {PRICES.as_of}" in page.read_text(encoding="utf-8")


def test_a_number_of_events_the_trail_does_not_record_prices_nothing() -> None:
    given = {"management_events_per_day": N, "data_events_per_day": 9_000_000}
    without = estimate(answers(cost=given))
    baseline = estimate(answers(cost={"management_events_per_day": N}))

    assert not [i for i in without.items if i.what.startswith("Data events")]
    assert (
        item(without, "S3 storage").monthly_usd_high
        == item(baseline, "S3 storage").monthly_usd_high
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("management_events_per_day: -5", "give a count of 0 or more"),
        ("read_only_percent: 120", "give a whole number from 0 to 100"),
        ("storage_months: 0", "give 1 to 120"),
        ("data_events_per_day: lots", "must be a whole number"),
        ("events_per_day: 3", "did you mean data_events_per_day?"),
    ],
)
def test_a_bad_cost_section_says_what_to_give(line: str, says: str) -> None:
    text = f"trail:\n  name: acme\nbucket:\n  name: acme-logs-cost\ncost:\n  {line}\n"
    with pytest.raises(AnswersError) as caught:
        parse_answers(text)

    (problem,) = caught.value.problems
    assert problem.field.startswith("cost.")
    assert problem.line == 6
    assert says in problem.message


# ------------------------------------------------------------------ retention (lifecycle)

BIG = 1_000_000
"""Management events a day large enough that a log file passes S3's 128 KB transition floor
(1,000,000 x 200 bytes over 288 files is about 680 KB a file)."""


def retained(**retention: Any) -> Answers:
    return answers(
        bucket={"name": "acme-logs-cost", "retention": retention},
        cost={"management_events_per_day": BIG, "storage_months": 24},
    )


def test_expired_log_files_are_held_only_until_they_expire() -> None:
    cost = estimate(retained(expire_days=400))

    gb_a_day = BIG * COMPRESSED_BYTES_PER_EVENT / GB
    expected = cents(gb_a_day * 400 * unit("s3_standard_storage"))
    storage = item(cost, "S3 storage")
    assert storage.monthly_usd_high == expected
    assert "expire after 400 days" in storage.basis


def test_moved_log_files_are_priced_in_their_colder_class_and_each_move_is_a_request() -> None:
    cost = estimate(retained(transition_days=90, storage_class="GLACIER_IR", expire_days=365))

    gb_a_day = BIG * COMPRESSED_BYTES_PER_EVENT / GB
    expected = gb_a_day * 90 * unit("s3_standard_storage") + gb_a_day * (365 - 90) * unit(
        "s3_glacier_ir_storage"
    )
    assert item(cost, "S3 storage").monthly_usd_high == cents(expected)
    moves = LOG_FILES_PER_DAY * DAYS_PER_MONTH * unit("s3_transition_glacier_ir")
    assert item(cost, "S3 lifecycle transitions").monthly_usd_high == cents(moves)


def test_an_archive_bills_its_minimum_days_and_its_overhead_per_object() -> None:
    cost = estimate(retained(transition_days=30, storage_class="DEEP_ARCHIVE", expire_days=120))

    gb_a_day = BIG * COMPRESSED_BYTES_PER_EVENT / GB
    billed = 180  # Deep Archive bills 180 days at least; the files spend 90 days there
    overhead = LOG_FILES_PER_DAY * 40 * 1024 / GB * billed
    expected = (gb_a_day * 30 + overhead * 8 / 40) * unit("s3_standard_storage") + (
        gb_a_day * billed + overhead * 32 / 40
    ) * unit("s3_deep_archive_storage")
    storage = item(cost, "S3 storage")
    assert storage.monthly_usd_high == cents(expected)
    assert "billed as 180" in storage.basis


def test_log_files_smaller_than_128_kb_stay_in_s3_standard() -> None:
    small = answers(
        bucket={
            "name": "acme-logs-cost",
            "retention": {"transition_days": 90, "storage_class": "GLACIER_IR"},
        },
    )  # 100,000 events a day: about 68 KB a log file
    cost = estimate(small)

    gb_a_day = N * COMPRESSED_BYTES_PER_EVENT / GB
    expected = cents(gb_a_day * DAYS_PER_MONTH * 12 * unit("s3_standard_storage"))
    storage = item(cost, "S3 storage")
    assert storage.monthly_usd_high == expected
    assert "128 KB" in storage.basis
    assert not [i for i in cost.items if i.what.startswith("S3 lifecycle transitions")]

"""The trail's events as CloudTrail gets them, and every guard before a change (pure).

What PutEventSelectors, PutInsightSelectors and PutEventConfiguration are sent for the
answers (basic selectors where they can say it, advanced ones named as the console names
them otherwise, never both), each preset's exact selectors, the guards of
:mod:`wizard.plan.event_guards` (each with its own case), the answers' own rules, CloudTrail's
limits, and what scanners look for in the secure defaults. Plans are built offline.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wizard import guide
from wizard.account.discovery import BucketFacts, Discovery
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.plan import Plan
from wizard.plan.event_guards import event_findings
from wizard.plan.planner import build_plan
from wizard.plan.selectors import (
    MANAGEMENT_SELECTOR_NAME,
    aggregation_configurations,
    event_selection,
    insight_selectors,
)
from wizard.policy.controls import s3_object_events

ACCOUNT = "123456789012"
CTX = AccountContext(account_id=ACCOUNT, partition="aws", region="us-east-1")
BUCKET = "acme-audit-logs"
ACCESS = "acme-audit-access-logs"
LOG_ARN = f"arn:aws:s3:::{BUCKET}/"
ACCESS_ARN = f"arn:aws:s3:::{ACCESS}/"


def answers(events: dict[str, Any] | None = None, *, access_logs: bool = False) -> Answers:
    bucket: dict[str, Any] = {"name": BUCKET}
    if access_logs:
        bucket["access_logs"] = {"bucket": ACCESS}
    return Answers.model_validate(
        {"trail": {"name": "acme-audit"}, "bucket": bucket, "events": events or {}}
    )


def names(a: Answers) -> Names:
    return Names(a, CTX)


def plan_for(a: Answers) -> Plan:
    bucket = BucketFacts(name=a.bucket.name, exists=False, owned=None, region=None)
    return build_plan(a, CTX, Discovery(context=CTX, bucket=bucket))


def codes(a: Answers) -> dict[str, list[str]]:
    """Guard findings: code -> messages."""
    out: dict[str, list[str]] = {}
    for f in event_findings(a, names(a)):
        out.setdefault(f.code, []).append(f.message)
    return out


def severity(a: Answers, code: str) -> str:
    (found,) = [f for f in event_findings(a, names(a)) if f.code == code]
    return found.severity


def preset(preset_id: str, **more: Any) -> Answers:
    draft: guide.Draft = {"events": {}}
    guide.apply_presets(draft, [preset_id])
    return answers({**draft["events"], **more})


# ------------------------------------------------------------------ presets, exactly


DATA = {"Field": "eventCategory", "Equals": ["Data"]}
S3 = {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
MANAGEMENT = {
    "Name": MANAGEMENT_SELECTOR_NAME,
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}


def test_s3_writes_preset_cis_4_8_leaves_the_log_buckets_out() -> None:
    a = preset("s3-writes")
    selection = event_selection(a, names(a))
    assert selection.basic is None
    assert list(selection.advanced or []) == [
        MANAGEMENT,
        {
            "Name": "Log S3 data events (writes), except the trail's log buckets",
            "FieldSelectors": [
                DATA,
                S3,
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "resources.ARN", "NotStartsWith": [LOG_ARN]},
            ],
        },
    ]
    with_access = preset("s3-writes")
    with_access = answers(with_access.model_dump(mode="json")["events"], access_logs=True)
    writes = event_selection(with_access, names(with_access)).advanced or ()
    assert writes[1]["FieldSelectors"][-1] == {
        "Field": "resources.ARN",
        "NotStartsWith": [LOG_ARN, ACCESS_ARN],
    }


def test_s3_reads_preset_cis_4_9_records_the_log_buckets_reads_too() -> None:
    """Reads of the log bucket are no loop, and who read the logs is worth recording."""
    a = preset("s3-reads")
    advanced = event_selection(a, names(a)).advanced or ()
    assert advanced[1] == {
        "Name": "Log S3 data events (reads)",
        "FieldSelectors": [DATA, S3, {"Field": "readOnly", "Equals": ["true"]}],
    }
    assert "data-events-log-bucket-excluded" not in codes(a)


def test_all_s3_objects_preset_excludes_log_and_access_log_buckets() -> None:
    a = answers(preset("s3-all").model_dump(mode="json")["events"], access_logs=True)
    advanced = event_selection(a, names(a)).advanced or ()
    assert advanced[1]["FieldSelectors"] == [
        DATA,
        S3,
        {"Field": "resources.ARN", "NotStartsWith": [LOG_ARN, ACCESS_ARN]},
    ]
    (note,) = codes(a)["data-events-log-bucket-excluded"]
    assert f"{BUCKET} and {ACCESS}" in note


@pytest.mark.parametrize(
    ("preset_id", "kind", "value"),
    [
        ("lambda", "AWS::Lambda::Function", "arn:aws:lambda"),
        ("dynamodb", "AWS::DynamoDB::Table", "arn:aws:dynamodb"),
    ],
)
def test_lambda_and_dynamodb_presets_are_basic_selectors(
    preset_id: str, kind: str, value: str
) -> None:
    a = preset(preset_id)
    selection = event_selection(a, names(a))
    assert selection.params() == {
        "EventSelectors": [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [],
                "ExcludeManagementEventSources": [],
            },
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": kind, "Values": [value]}],
            },
        ]
    }


def test_vpc_endpoint_denials_preset_is_one_selector_per_source() -> None:
    a = preset("vpce-denied")
    advanced = event_selection(a, names(a)).advanced or ()
    sources = [s["FieldSelectors"][1]["Equals"][0] for s in advanced[1:]]
    assert sources == [
        "cloudtrail.amazonaws.com",
        "ec2.amazonaws.com",
        "kms.amazonaws.com",
        "s3.amazonaws.com",
        "secretsmanager.amazonaws.com",
    ]
    for selector in advanced[1:]:
        assert selector["FieldSelectors"][0] == {
            "Field": "eventCategory",
            "Equals": ["NetworkActivity"],
        }
        assert selector["FieldSelectors"][2] == {
            "Field": "errorCode",
            "Equals": ["VpceAccessDenied"],
        }
        assert selector["Name"].startswith("Log VPC endpoint access denied events for ")


# ------------------------------------------------------------------ basic or advanced


@pytest.mark.parametrize(
    ("events", "kind"),
    [
        ({}, "basic"),
        ({"management": "write", "exclude_sources": ["kms.amazonaws.com"]}, "basic"),
        ({"data": [{"type": "s3", "resources": ["arn:aws:s3:::app/"]}]}, "basic"),
        ({"data": [{"type": "lambda"}, {"type": "dynamodb", "read_write": "write"}]}, "basic"),
        ({"data": [{"type": "s3"}]}, "advanced"),  # the log buckets must be left out
        (
            {"data": [{"type": "lambda", "resources": ["arn:aws:lambda:us-east-1:1:function:a"]}]},
            "advanced",
        ),
        ({"data": [{"type": "AWS::SNS::Topic"}]}, "advanced"),
        ({"data": [{"type": "s3express"}]}, "advanced"),
        ({"network": [{"source": "kms.amazonaws.com"}]}, "advanced"),
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "resources": ["arn:aws:s3:::app/"],
                        "conditions": [
                            {"field": "eventName", "operator": "Equals", "values": ["PutObject"]}
                        ],
                    }
                ]
            },
            "advanced",
        ),
    ],
)
def test_basic_selectors_wherever_they_can_say_it_and_never_both(
    events: dict[str, Any], kind: str
) -> None:
    a = answers(events)
    selection = event_selection(a, names(a))
    assert selection.kind == kind
    params = selection.params()
    assert len(params) == 1  # EventSelectors or AdvancedEventSelectors, never both
    (step,) = [s for s in plan_for(a).steps if s.call.operation == "PutEventSelectors"]
    assert ("EventSelectors" in step.call.params) != ("AdvancedEventSelectors" in step.call.params)
    assert f"({kind} selectors)" in step.summary


def test_more_than_250_basic_resources_fall_back_to_advanced_selectors() -> None:
    prefixes = [f"arn:aws:s3:::bucket-{n:03d}/" for n in range(251)]
    a = answers({"data": [{"type": "s3", "resources": prefixes}]})
    assert event_selection(a, names(a)).kind == "advanced"
    assert "event-selectors-limit" not in [f.code for f in plan_for(a).findings]


def test_more_than_500_values_is_refused_before_any_change() -> None:
    names_ = [f"Op{n}" for n in range(500)]
    a = answers(
        {
            "data": [
                {
                    "type": "lambda",
                    "conditions": [{"field": "eventName", "operator": "Equals", "values": names_}],
                }
            ]
        }
    )
    (limit,) = [f for f in plan_for(a).findings if f.code == "event-selectors-limit"]
    assert limit.severity == "error"
    assert "a trail can have at most 500" in limit.message


# ------------------------------------------------------------------ the guards


def test_a_selector_naming_the_log_bucket_for_writes_is_refused_with_the_fix() -> None:
    a = answers({"data": [{"type": "s3", "resources": [LOG_ARN], "read_write": "write"}]})
    assert severity(a, "data-events-log-bucket") == "error"
    (message,) = codes(a)["data-events-log-bucket"]
    assert f"Remove '{LOG_ARN}'" in message and "read_write: read" in message
    assert plan_for(a).blocked


def test_a_condition_naming_the_access_log_bucket_is_refused() -> None:
    a = answers(
        {
            "data": [
                {
                    "type": "s3",
                    "conditions": [
                        {
                            "field": "resources.ARN",
                            "operator": "StartsWith",
                            "values": [f"{ACCESS_ARN}x/"],
                        }
                    ],
                }
            ]
        },
        access_logs=True,
    )
    assert severity(a, "data-events-log-bucket") == "error"
    assert ACCESS in codes(a)["data-events-log-bucket"][0]


def test_a_prefix_that_covers_the_log_bucket_is_refused() -> None:
    """arn:aws:s3:::acme- also selects acme-audit-logs/: still the loop."""
    a = answers({"data": [{"type": "s3", "resources": ["arn:aws:s3:::acme-"]}]})
    assert severity(a, "data-events-log-bucket") == "error"


def test_reads_of_the_log_bucket_are_no_loop() -> None:
    a = answers({"data": [{"type": "s3", "resources": [LOG_ARN], "read_write": "read"}]})
    assert "data-events-log-bucket" not in codes(a)


@pytest.mark.parametrize(
    ("operator", "value", "fragment"),
    [
        ("NotEquals", "arn:aws:s3:::app-data/", "leaves out nothing but an object"),
        ("NotEquals", "arn:aws:s3:::app-data", "use NotStartsWith arn:aws:s3:::app-data/"),
        ("Equals", "arn:aws:s3:::app-data/", "records nothing (no object has that ARN"),
    ],
)
def test_equals_and_not_equals_on_a_bucket_are_refused(
    operator: str, value: str, fragment: str
) -> None:
    a = answers(
        {
            "data": [
                {
                    "type": "s3",
                    "conditions": [
                        {"field": "resources.ARN", "operator": operator, "values": [value]}
                    ],
                }
            ]
        }
    )
    assert severity(a, "selector-arn-operator") == "error"
    assert fragment in codes(a)["selector-arn-operator"][0]


def test_not_equals_on_a_whole_object_arn_is_accepted() -> None:
    a = answers(
        {
            "data": [
                {
                    "type": "s3",
                    "conditions": [
                        {
                            "field": "resources.ARN",
                            "operator": "NotEquals",
                            "values": ["arn:aws:s3:::app/report.csv"],
                        }
                    ],
                }
            ]
        }
    )
    assert not {"selector-arn-operator", "selector-matches-nothing"} & set(codes(a))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"type": "lambda", "resources": ["arn:aws:s3:::app/"]}, "selector-arn-service"),
        ({"type": "s3", "resources": ["arn:aws-cn:s3:::app/"]}, "selector-arn-partition"),
        (
            {
                "type": "s3",
                "conditions": [
                    {"field": "resources.ARN", "operator": "StartsWith", "values": ["app-data"]}
                ],
            },
            "selector-arn-value",
        ),
    ],
)
def test_resources_arn_values_that_can_never_match_are_refused(
    data: dict[str, Any], code: str
) -> None:
    a = answers({"data": [data]})
    assert severity(a, code) == "error"


def test_a_not_condition_that_cancels_every_selected_value_is_refused() -> None:
    a = answers(
        {
            "data": [
                {
                    "type": "s3",
                    "resources": ["arn:aws:s3:::app/reports/"],
                    "conditions": [
                        {
                            "field": "resources.ARN",
                            "operator": "NotStartsWith",
                            "values": ["arn:aws:s3:::app/"],
                        }
                    ],
                }
            ]
        }
    )
    assert severity(a, "selector-matches-nothing") == "error"
    assert "records nothing" in codes(a)["selector-matches-nothing"][0]


def test_a_value_both_selected_and_left_out_is_a_warning() -> None:
    a = answers(
        {
            "data": [
                {
                    "type": "lambda",
                    "conditions": [
                        {
                            "field": "eventName",
                            "operator": "Equals",
                            "values": ["Invoke", "InvokeAsync"],
                        },
                        {"field": "eventName", "operator": "NotEquals", "values": ["InvokeAsync"]},
                    ],
                }
            ]
        }
    )
    assert severity(a, "selector-conflict") == "warning"
    # One field selector per field: the two conditions on eventName are merged.
    fields = [
        f["Field"] for f in (event_selection(a, names(a)).advanced or ())[1]["FieldSelectors"]
    ]
    assert fields.count("eventName") == 1


def test_a_bucket_prefix_without_its_slash_is_a_warning() -> None:
    a = answers({"data": [{"type": "s3", "resources": ["arn:aws:s3:::app"], "read_write": "read"}]})
    assert severity(a, "selector-arn-no-slash") == "warning"
    assert "'arn:aws:s3:::app/'" in codes(a)["selector-arn-no-slash"][0]


def test_types_and_sources_aws_does_not_list_are_warnings() -> None:
    a = answers(
        {"data": [{"type": "AWS::Made::Up"}], "network": [{"source": "madeup.amazonaws.com"}]}
    )
    assert severity(a, "data-type-unlisted") == "warning"
    assert severity(a, "network-source-unlisted") == "warning"
    known = answers(
        {"data": [{"type": "AWS::SNS::Topic"}], "network": [{"source": "kms.amazonaws.com"}]}
    )
    assert not {"data-type-unlisted", "network-source-unlisted"} & set(codes(known))


def test_management_exclusions_warn_that_aws_config_multi_region_rule_fails() -> None:
    a = answers({"exclude_sources": ["rdsdata.amazonaws.com"]})
    (message,) = codes(a)["management-exclusions"]
    assert "multi-region-cloudtrail-enabled rule is NON_COMPLIANT" in message


# ------------------------------------------------------------------ the answers' own rules


@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "conditions": [
                            {"field": "eventName", "operator": "Equals", "values": ["Put*"]}
                        ],
                    }
                ]
            },
            "has a '*', but event selectors have no wildcards",
        ),
        ({"data": [{"type": "s3", "resources": ["arn:aws:s3:::logs-*/"]}]}, "no wildcards"),
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "conditions": [
                            {
                                "field": "sessionCredentialFromConsole",
                                "operator": "StartsWith",
                                "values": ["true"],
                            }
                        ],
                    }
                ]
            },
            "takes only Equals or NotEquals",
        ),
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "conditions": [
                            {
                                "field": "sessionCredentialFromConsole",
                                "operator": "Equals",
                                "values": ["false"],
                            }
                        ],
                    }
                ]
            },
            "takes only the value true",
        ),
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "conditions": [
                            {"field": "readOnly", "operator": "Equals", "values": ["true"]}
                        ],
                    }
                ]
            },
            "readOnly is set by the item's read_write",
        ),
        (
            {
                "data": [
                    {
                        "type": "s3",
                        "conditions": [
                            {"field": "errorCode", "operator": "Equals", "values": ["x"]}
                        ],
                    }
                ]
            },
            "not a field data event selectors can filter on",
        ),
        ({"data": [{"type": "sqs"}]}, "is not a data event type"),
        ({"network": [{"source": "kms"}]}, "is not an event source"),
        (
            {
                "network": [
                    {"source": "kms.amazonaws.com"},
                    {"source": "kms.amazonaws.com", "denied_only": True},
                ]
            },
            "names kms.amazonaws.com more than once",
        ),
        ({"management": "read", "insights": ["ApiCallRateInsight"]}, "write management events"),
        (
            {"management": "none", "data": [{"type": "s3"}], "insights": ["ApiErrorRateInsight"]},
            "need management events",
        ),
        ({"data_insights": ["ApiCallRateInsight"]}, "events.data is empty"),
        ({"aggregation": ["API_ACTIVITY"]}, "events.data is empty"),
        ({"management": "none"}, "the trail would record nothing"),
    ],
)
def test_the_answers_refuse_what_cloudtrail_would(events: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=None) as caught:
        answers(events)
    assert fragment in str(caught.value)


def test_api_error_rate_insights_need_only_some_management_events() -> None:
    a = answers({"management": "read", "insights": ["ApiErrorRateInsight"]})
    assert insight_selectors(a) == [{"InsightType": "ApiErrorRateInsight"}]


# ------------------------------------------------------------------ Insights and aggregation


def test_insights_on_management_and_data_events_are_sent_together() -> None:
    a = answers(
        {
            "data": [{"type": "lambda"}],
            "insights": ["ApiCallRateInsight"],
            "data_insights": ["ApiCallRateInsight", "ApiErrorRateInsight"],
        }
    )
    assert insight_selectors(a) == [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data"]},
    ]
    (step,) = [s for s in plan_for(a).steps if s.call.operation == "PutInsightSelectors"]
    assert step.call.params["InsightSelectors"] == insight_selectors(a)
    assert "insights-both-categories" in codes(a)
    # Management Insights only: the plain list, categories left out (management by default).
    only = answers({"insights": ["ApiCallRateInsight"]})
    assert insight_selectors(only) == [{"InsightType": "ApiCallRateInsight"}]


def test_aggregation_is_configured_after_the_data_events() -> None:
    a = answers({"data": [{"type": "lambda"}], "aggregation": ["API_ACTIVITY", "USER_ACTIONS"]})
    assert aggregation_configurations(a) == [
        {"EventCategory": "Data", "Templates": ["API_ACTIVITY", "USER_ACTIONS"]}
    ]
    steps = {s.id: s for s in plan_for(a).steps}
    step = steps["put-event-configuration"]
    assert step.call.params["AggregationConfigurations"] == aggregation_configurations(a)
    assert "put-event-selectors" in step.depends_on
    # Logging starts beside the events' steps: it needs only the trail (issue 16).
    assert steps["start-logging"].depends_on == ["create-trail"]


# ------------------------------------------------------------------ scanners and controls


def _management_logged_as_scanners_read_it(params: dict[str, Any]) -> bool:
    """The shapes open-source scanners accept for "management events logged" (CIS 4.1):
    a basic selector for all read and write management events, or an advanced selector
    named as the console names it, without a readOnly condition."""
    for selector in params.get("EventSelectors") or []:
        if selector.get("ReadWriteType") == "All" and selector.get("IncludeManagementEvents"):
            return True
    for selector in params.get("AdvancedEventSelectors") or []:
        fields = [f["Field"] for f in selector["FieldSelectors"]]
        if selector.get("Name") == MANAGEMENT_SELECTOR_NAME and "readOnly" not in fields:
            return True
    return False


@pytest.mark.parametrize(
    "events",
    [
        {},
        {"data": [{"type": "s3"}]},
        {"network": [{"source": "s3.amazonaws.com"}]},
        {"data": [{"type": "lambda"}]},
    ],
)
def test_secure_defaults_pass_the_scanners_management_events_check(events: dict[str, Any]) -> None:
    a = answers(events)
    (step,) = [s for s in plan_for(a).steps if s.call.operation == "PutEventSelectors"]
    assert _management_logged_as_scanners_read_it(step.call.params)


def test_read_only_management_events_do_not_pass_it() -> None:
    for events in ({"management": "read"}, {"management": "read", "data": [{"type": "s3"}]}):
        a = answers(events)
        (step,) = [s for s in plan_for(a).steps if s.call.operation == "PutEventSelectors"]
        assert not _management_logged_as_scanners_read_it(step.call.params)


@pytest.mark.parametrize(
    ("basic", "advanced", "expected"),
    [
        # Advanced: every bucket but the log bucket, writes only.
        (
            [],
            [
                {
                    "FieldSelectors": [
                        DATA,
                        S3,
                        {"Field": "readOnly", "Equals": ["false"]},
                        {"Field": "resources.ARN", "NotStartsWith": [LOG_ARN]},
                    ]
                }
            ],
            ("all", "none", [BUCKET]),
        ),
        # Advanced: filtered on eventName is not every write.
        (
            [],
            [{"FieldSelectors": [DATA, S3, {"Field": "eventName", "Equals": ["PutObject"]}]}],
            ("some", "some", []),
        ),
        # Advanced: leaving out a folder is not leaving out a whole bucket.
        (
            [],
            [
                {
                    "FieldSelectors": [
                        DATA,
                        S3,
                        {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::app/tmp/"]},
                    ]
                }
            ],
            ("some", "some", []),
        ),
        # Basic: arn:aws:s3 means every bucket.
        (
            [
                {
                    "ReadWriteType": "ReadOnly",
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
                }
            ],
            [],
            ("none", "all", []),
        ),
        # Basic: one bucket.
        (
            [
                {
                    "ReadWriteType": "All",
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::app/"]}],
                }
            ],
            [],
            ("some", "some", []),
        ),
    ],
)
def test_cis_4_8_and_4_9_are_judged_on_basic_and_advanced_selectors(
    basic: list[dict[str, Any]],
    advanced: list[dict[str, Any]],
    expected: tuple[str, str, list[str]],
) -> None:
    assert s3_object_events(basic, advanced) == expected


def test_a_planned_trail_with_the_s3_presets_passes_cis_4_8_and_4_9() -> None:
    # Deferred: only this test needs the controls' plan judge.
    from wizard.policy.controls import plan_controls

    draft: guide.Draft = {"events": {}}
    guide.apply_presets(draft, ["s3-writes", "s3-reads"])
    a = answers(draft["events"], access_logs=True)
    results = {c.control.id: c for c in plan_controls(plan_for(a))}
    assert results["S3.22"].status == "pass"
    assert results["S3.23"].status == "pass"
    assert f"except the trail's own log buckets ({ACCESS}, {BUCKET})" in results["S3.22"].reason

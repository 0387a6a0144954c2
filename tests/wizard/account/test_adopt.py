"""Adopt: an existing trail read into answers, on the seeded sandbox.

Trails are made the way their owners made them: by the seed (the legacy trail) or with plain
boto3 calls (a trail with a key, selectors, Insights and tags that the wizard did not make).
The answers must describe each as it is, and say in a note whatever they cannot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.callers import FailOn, PassThroughCaller
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.account.adopt import AdoptError, adopt_trail, events_from_selectors
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.names import RUN_TAG
from wizard.ports import AwsError

pytestmark = pytest.mark.aws

LEGACY = "legacy-trail"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"
CENTRAL_BUCKET = f"demo-central-logs-{ACCOUNT}"  # eu-west-1; any trail of the account may write
EU = "eu-west-1"


def test_the_seeded_legacy_trail_is_read_as_it_is(sandbox: Any, engine: Engine) -> None:
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

    adopted = adopt_trail(engine.caller, engine.ctx, LEGACY, now=moment)

    assert adopted.answers == Answers.model_validate(
        {
            "trail": {
                "name": LEGACY,
                "region": "us-west-2",
                "multi_region": False,
                "include_global_events": True,
                "log_file_validation": False,
                "organization": False,
            },
            "bucket": {"name": LEGACY_BUCKET, "create": False},
            "encryption": {"type": "sse-s3"},
            "events": {"management": "all"},
        }
    )
    assert adopted.trail_arn == f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{LEGACY}"
    assert adopted.home_region == "us-west-2"
    assert adopted.bucket_region == "us-west-2"
    assert adopted.is_logging is True
    assert adopted.key_arn is None
    assert adopted.read_at == "2026-12-01T09:30:00Z"
    assert adopted.notes == []


@pytest.fixture
def configured_trail(sandbox: Any, aws: Any) -> str:
    """A trail its owner set up by hand: multi-region, validated, SSE-KMS with an aliased key,
    a prefix, advanced selectors (one the answers cannot say), Insights and tags (the wizard's
    run tag among them)."""
    kms = aws("kms", EU)
    key_arn = kms.describe_key(KeyId="alias/cloudtrail-ready-eu")["KeyMetadata"]["Arn"]
    trail = aws("cloudtrail", EU)
    arn = trail.create_trail(
        Name="hand-made",
        S3BucketName=CENTRAL_BUCKET,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        TagsList=[
            {"Key": "team", "Value": "security"},
            {"Key": RUN_TAG, "Value": "r-0123456789"},
        ],
    )["TrailARN"]
    trail.put_event_selectors(
        TrailName=arn,
        AdvancedEventSelectors=[
            {
                "Name": "writes",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                ],
            },
            {
                "Name": "lambda",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
                    {
                        "Field": "resources.ARN",
                        "StartsWith": [f"arn:aws:lambda:{EU}:{ACCOUNT}:function:app-"],
                    },
                ],
            },
            {
                "Name": "puts",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "eventName", "Equals": ["PutObject"]},
                ],
            },
            {
                "Name": "one-endpoint",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                    {"Field": "eventSource", "Equals": ["kms.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "Equals": ["vpce-0123456789abcdef0"]},
                ],
            },
        ],
    )
    trail.put_insight_selectors(
        TrailName=arn, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]
    )
    trail.start_logging(Name=arn)
    return str(arn)


def test_a_hand_made_trail_is_read_whole_and_what_answers_cannot_say_is_noted(
    configured_trail: str, engine: Engine, aws: Any
) -> None:
    adopted = adopt_trail(engine.caller, engine.ctx, "hand-made")

    answers = adopted.answers
    assert answers.trail.region == EU
    assert answers.trail.multi_region and answers.trail.log_file_validation
    assert answers.trail.tags == {"team": "security"}  # never the wizard's run tag
    assert answers.bucket.name == CENTRAL_BUCKET and not answers.bucket.create
    assert answers.bucket.account is None  # the demo account's own bucket
    assert adopted.bucket_region == EU
    # The key by its alias (people read aliases), not by the ARN the trail stores.
    assert answers.encryption.type == "sse-kms"
    assert answers.encryption.key == "alias/cloudtrail-ready-eu"
    assert adopted.key_arn is not None and adopted.key_arn.startswith(f"arn:aws:kms:{EU}:")
    assert answers.events.management == "write"
    assert answers.events.exclude_sources == ["kms.amazonaws.com"]
    assert [d.model_dump(exclude_defaults=True) for d in answers.events.data] == [
        {
            "type": "lambda",
            "resources": [f"arn:aws:lambda:{EU}:{ACCOUNT}:function:app-"],
            "name": "lambda",
        },
        {
            "type": "s3",
            "conditions": [{"field": "eventName", "operator": "Equals", "values": ["PutObject"]}],
            "name": "puts",
        },
    ]
    assert answers.events.insights == ["ApiCallRateInsight"]
    # The network selector filtering on an endpoint is not in the answers: a note says so and
    # names it, and it is the only selector left out.
    selectors = [n for n in adopted.notes if "event selector" in n]
    assert len(selectors) == 1
    assert "'one-endpoint'" in selectors[0] and "vpcEndpointId" in selectors[0]
    assert "cannot be expressed" in selectors[0]
    assert answers.events.network == []
    # Anything else said is about reading the data events' aggregation.
    assert all("summarises its data events" in n for n in adopted.notes if n not in selectors)


def test_a_key_without_alias_is_named_by_its_arn_and_a_stopped_trail_is_said(
    sandbox: Any, aws: Any, engine: Engine
) -> None:
    kms = aws("kms", EU)
    policy = kms.get_key_policy(
        KeyId=kms.describe_key(KeyId="alias/cloudtrail-ready-eu")["KeyMetadata"]["KeyId"],
        PolicyName="default",
    )["Policy"]
    key_arn = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    aws("cloudtrail", EU).create_trail(
        Name="bare-key", S3BucketName=CENTRAL_BUCKET, KmsKeyId=key_arn
    )

    adopted = adopt_trail(engine.caller, engine.ctx, "bare-key")

    assert adopted.answers.encryption.key == key_arn
    assert adopted.is_logging is False
    assert adopted.notes == [
        "Trail bare-key is not logging now. Answers always describe a logging trail: "
        "applying them starts it."
    ]


class DenyPages(PassThroughCaller):
    """Refuses one paginated operation, as IAM would without the permission."""

    def __init__(self, inner: Any, operation: str) -> None:
        super().__init__(inner)
        self.operation = operation

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        if operation == self.operation:
            raise AwsError(
                service=service, operation=operation, code="AccessDenied", message="no", status=403
            )
        return super().paginate(service, region, operation, result_key, params)


def test_a_refused_alias_lookup_names_the_key_by_arn_and_says_why(
    configured_trail: str, engine: Engine
) -> None:
    caller = DenyPages(engine.caller, "ListAliases")

    adopted = adopt_trail(caller, engine.ctx, "hand-made")

    assert adopted.answers.encryption.key == adopted.key_arn
    assert any("kms:ListAliases" in n and "by its ARN" in n for n in adopted.notes)


def test_tags_cloudwatch_logs_and_sns_are_read(sandbox: Any, aws: Any, engine: Engine) -> None:
    """A trail the wizard itself applied: its topic, log group, role and retention."""
    answers = Answers.model_validate(
        {
            "trail": {"name": "watched", "region": REGION, "tags": {"owner": "ops"}},
            "bucket": {"name": f"watched-logs-{ACCOUNT}", "create": True},
            "encryption": {"type": "sse-s3"},
            "notifications": {"sns_topic": "watched-topic"},
            "cloudwatch_logs": {"log_group": "watched-group", "retention_days": 90},
        }
    )
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(answers, plan, found=found)
    assert outcome.report.status == "applied", outcome.report.message

    adopted = adopt_trail(engine.caller, engine.ctx, "watched").answers

    assert adopted.trail.tags == {"owner": "ops"}
    assert adopted.notifications.sns_topic == f"arn:aws:sns:{REGION}:{ACCOUNT}:watched-topic"
    assert adopted.cloudwatch_logs.log_group == "watched-group"
    assert adopted.cloudwatch_logs.role is not None
    assert adopted.cloudwatch_logs.role.startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert adopted.cloudwatch_logs.retention_days == 90


# ------------------------------------------------------------------ errors


def test_an_unknown_name_suggests_the_near_miss(sandbox: Any, engine: Engine) -> None:
    with pytest.raises(AdoptError) as caught:
        adopt_trail(engine.caller, engine.ctx, "legacy-trial")

    assert caught.value.code == "not-found"
    assert "Did you mean legacy-trail?" in caught.value.message
    assert "trails: legacy-trail" in caught.value.message


def test_a_name_far_from_any_lists_the_trails_without_a_guess(sandbox: Any, engine: Engine) -> None:
    with pytest.raises(AdoptError, match=r"No trail named 'audit'.*trails: legacy-trail\.") as e:
        adopt_trail(engine.caller, engine.ctx, "audit")
    assert "Did you mean" not in e.value.message


def test_a_trail_homed_elsewhere_is_named_when_the_region_was_asked_for(
    sandbox: Any, engine: Engine
) -> None:
    with pytest.raises(AdoptError) as caught:
        adopt_trail(engine.caller, engine.ctx, LEGACY, strict_region=True)

    assert caught.value.code == "elsewhere"
    assert "lives in us-west-2, not in us-east-1" in caught.value.message
    assert "--region us-west-2" in caught.value.message
    # Without an explicit region, the trail is read in its home region.
    assert adopt_trail(engine.caller, engine.ctx, LEGACY).home_region == "us-west-2"


def test_a_shadow_copy_says_to_adopt_from_the_home_region(
    sandbox: Any, aws: Any, engine: Engine
) -> None:
    aws("cloudtrail", EU).create_trail(
        Name="everywhere", S3BucketName=CENTRAL_BUCKET, IsMultiRegionTrail=True
    )

    with pytest.raises(AdoptError) as caught:
        adopt_trail(engine.caller, engine.ctx, "everywhere", strict_region=True)

    assert caught.value.code == "shadow"
    assert "multi-region trail whose home region is eu-west-1" in caught.value.message
    assert "shadow copy" in caught.value.message and "--region eu-west-1" in caught.value.message


def test_one_name_in_two_regions_asks_for_the_arn(sandbox: Any, aws: Any, engine: Engine) -> None:
    aws("cloudtrail", EU).create_trail(Name=LEGACY, S3BucketName=CENTRAL_BUCKET)

    with pytest.raises(AdoptError) as caught:
        adopt_trail(engine.caller, engine.ctx, LEGACY)

    assert caught.value.code == "ambiguous"
    assert "eu-west-1" in caught.value.message and "us-west-2" in caught.value.message
    arns = re.findall(r"arn:aws:cloudtrail:[a-z0-9-]+:\d{12}:trail/legacy-trail", str(caught.value))
    assert len(arns) == 2
    # Its ARN picks one.
    chosen = adopt_trail(engine.caller, engine.ctx, arns[0])
    assert chosen.trail_arn == arns[0]


class OtherOwner(PassThroughCaller):
    """ListTrails answers with an organization trail of the management account, as a
    member account sees it."""

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        listed = super().paginate(service, region, operation, result_key, params)
        if operation == "ListTrails":
            listed.append(
                {
                    "Name": "org-audit",
                    "TrailARN": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-audit",
                    "HomeRegion": "us-east-1",
                }
            )
        return listed


def test_another_accounts_trail_is_refused_naming_its_owner(sandbox: Any, engine: Engine) -> None:
    with pytest.raises(AdoptError) as caught:
        adopt_trail(OtherOwner(engine.caller), engine.ctx, "org-audit")

    assert caught.value.code == "other-account"
    assert "belongs to account 999988887777" in caught.value.message


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("GetTrail", "cloudtrail:GetTrail"),
        ("GetEventSelectors", "cloudtrail:GetEventSelectors"),
        ("ListTags", "cloudtrail:ListTags"),
    ],
)
def test_a_refused_read_the_answers_need_names_the_missing_action(
    sandbox: Any, engine: Engine, operation: str, action: str
) -> None:
    caller = FailOn(engine.caller, operation, code="AccessDeniedException", status=400)

    with pytest.raises(AdoptError) as caught:
        adopt_trail(caller, engine.ctx, LEGACY)

    assert caught.value.code == "denied"
    assert caught.value.action == action
    assert f"may not call {action}" in caught.value.message


def test_listing_refused_names_list_trails(sandbox: Any, engine: Engine) -> None:
    with pytest.raises(AdoptError, match="may not call cloudtrail:ListTrails") as caught:
        adopt_trail(DenyPages(engine.caller, "ListTrails"), engine.ctx, LEGACY)
    assert caught.value.code == "denied"


# ------------------------------------------------------------------ selectors, pure


def _management(*fields: dict[str, Any], name: str = "m") -> dict[str, Any]:
    return {
        "Name": name,
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, *fields],
    }


def test_no_selectors_is_every_management_event() -> None:
    events, notes = events_from_selectors([], [], [], bucket="b")
    assert events == {
        "management": "all",
        "exclude_sources": [],
        "data": [],
        "network": [],
        "insights": [],
        "data_insights": [],
        "aggregation": [],
    }
    assert notes == []


def test_basic_selectors_become_management_and_data_events() -> None:
    basic = [
        {
            "ReadWriteType": "ReadOnly",
            "IncludeManagementEvents": True,
            "ExcludeManagementEventSources": ["rdsdata.amazonaws.com"],
            "DataResources": [
                {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]},
                {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::app/", "arn:aws:s3:::a/"]},
            ],
        }
    ]

    events, notes = events_from_selectors(basic, [], [], bucket="logs")

    assert events["management"] == "read"
    assert events["exclude_sources"] == ["rdsdata.amazonaws.com"]
    assert events["data"] == [
        {"type": "lambda", "resources": "all", "read_write": "read"},
        {"type": "s3", "resources": ["arn:aws:s3:::a/", "arn:aws:s3:::app/"], "read_write": "read"},
    ]
    assert notes == []


def test_s3_for_every_bucket_in_a_basic_selector_notes_the_log_bucket_exclusion() -> None:
    basic = [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]

    events, notes = events_from_selectors(basic, [], [], bucket="logs")

    assert events["data"] == [{"type": "s3", "resources": "all", "read_write": "all"}]
    assert len(notes) == 1 and "own log bucket" in notes[0]


def test_the_wizards_own_s3_selector_reads_back_as_all() -> None:
    advanced = [
        _management(),
        {
            "Name": "s3 data events",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::logs/"]},
            ],
        },
    ]

    events, notes = events_from_selectors([], advanced, [], bucket="logs")

    assert events["data"] == [{"type": "s3", "resources": "all", "read_write": "write"}]
    assert notes == []


@pytest.mark.parametrize(
    ("selector", "words"),
    [
        (
            {
                "Name": "vpce",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "Equals": ["vpce-1"]},
                ],
            },
            "it filters on vpcEndpointId",
        ),
        (
            _management({"Field": "eventSource", "Equals": ["iam.amazonaws.com"]}, name="iam"),
            "its eventSource condition",
        ),
        (
            {
                "Name": "errors",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "errorCode", "Equals": ["AccessDenied"]},
                ],
            },
            "'errorCode' is not a field data event selectors can filter on",
        ),
        (
            {
                "Name": "two-kinds",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object", "AWS::SNS::Topic"]},
                ],
            },
            "it does not name one resource type",
        ),
    ],
)
def test_a_selector_the_answers_cannot_say_is_left_out_with_a_note(
    selector: dict[str, Any], words: str
) -> None:
    events, notes = events_from_selectors([], [_management(), selector], [], bucket="logs")

    assert events["management"] == "all" and events["data"] == []
    [note] = notes
    assert words in note and f"'{selector['Name']}'" in note and "left out" in note


def test_different_exclusions_keep_only_what_every_selector_leaves_out() -> None:
    advanced = [
        _management(
            {"Field": "readOnly", "Equals": ["true"]},
            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
        ),
        _management({"Field": "readOnly", "Equals": ["false"]}),
    ]

    events, notes = events_from_selectors([], advanced, [], bucket="logs")

    assert events["management"] == "all" and events["exclude_sources"] == []
    assert len(notes) == 1 and "leave out different event sources" in notes[0]


def test_insights_go_where_their_event_categories_say() -> None:
    insights: list[dict[str, Any]] = [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Data"]},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Management", "Data"]},
    ]
    lambdas = {
        "Name": "lambda",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
        ],
    }

    events, notes = events_from_selectors([], [_management(), lambdas], insights, bucket="logs")

    assert events["insights"] == ["ApiErrorRateInsight"]
    assert events["data_insights"] == ["ApiCallRateInsight", "ApiErrorRateInsight"]
    assert notes == []


def test_insights_the_trail_cannot_analyse_are_noted() -> None:
    reads = [_management({"Field": "readOnly", "Equals": ["true"]})]
    insights: list[dict[str, Any]] = [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data"]},
    ]

    events, notes = events_from_selectors([], reads, insights, bucket="logs")

    assert events["insights"] == [] and events["data_insights"] == []
    assert any("records read management events" in n for n in notes)
    assert any("on data events but records none" in n for n in notes)


def test_conditions_network_events_and_aggregation_are_read() -> None:
    advanced = [
        {
            "Name": "deletes by people",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "eventName", "Equals": ["DeleteItem"]},
                {"Field": "sessionCredentialFromConsole", "Equals": ["true"]},
            ],
        },
        {
            "Name": "topics",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]},
                {"Field": "resources.ARN", "NotEndsWith": ["-test"]},
            ],
        },
        {
            "Name": "kms through endpoints",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                {"Field": "eventSource", "Equals": ["kms.amazonaws.com", "s3.amazonaws.com"]},
                {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
            ],
        },
    ]
    aggregation = [{"Templates": ["API_ACTIVITY", "USER_ACTIONS"], "EventCategory": "Data"}]

    events, notes = events_from_selectors([], advanced, [], bucket="logs", aggregation=aggregation)

    assert notes == []
    assert events["management"] == "none"
    assert events["data"] == [
        {
            "type": "dynamodb",
            "resources": "all",
            "read_write": "write",
            "conditions": [
                {"field": "eventName", "operator": "Equals", "values": ["DeleteItem"]},
                {
                    "field": "sessionCredentialFromConsole",
                    "operator": "Equals",
                    "values": ["true"],
                },
            ],
            "name": "deletes by people",
        },
        {
            "type": "AWS::SNS::Topic",
            "resources": "all",
            "read_write": "all",
            "conditions": [
                {"field": "resources.ARN", "operator": "NotEndsWith", "values": ["-test"]}
            ],
            "name": "topics",
        },
    ]
    assert events["network"] == [
        {"source": "kms.amazonaws.com", "denied_only": True},
        {"source": "s3.amazonaws.com", "denied_only": True},
    ]
    assert events["aggregation"] == ["API_ACTIVITY", "USER_ACTIONS"]
    from wizard.model.answers import EventsAnswers

    EventsAnswers.model_validate(events)  # valid answers, as read


def test_the_answers_file_states_every_setting_and_carries_the_notes(
    configured_trail: str, engine: Engine
) -> None:
    from wizard.account.adopt import adopted_text
    from wizard.model.answers_file import parse_answers

    adopted = adopt_trail(engine.caller, engine.ctx, "hand-made")

    text = adopted_text(adopted, sandbox=True)

    assert parse_answers(text) == adopted.answers
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert f"from {adopted.trail_arn}" in header.replace("\n# ", " ")
    assert "in the sandbox" in header
    assert "# Notes:\n# - Advanced event selector 'one-endpoint'" in header
    # Defaults are written too: the file says what the trail is, whatever later defaults are.
    for line in ("  type: sse-kms", "  management: write", "  organization: false"):
        assert line in text.splitlines()

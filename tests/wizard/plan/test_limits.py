"""wizard.plan.limits: each AWS limit at exactly the limit (no finding) and one past it (a
finding with the numbers), measured the way the service measures, and the whole plan
blocked by it.

Sizes are computed here with ``json.dumps`` and ``len``, independently of the module's own
measuring functions, so a wrong measurement cannot agree with itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from wizard.account.discovery import BucketFacts, Discovery, TrailFacts
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.model.names import RUN_TAG
from wizard.plan import limits
from wizard.plan.limits import (
    bucket_policy_findings,
    count_selectors,
    event_selector_findings,
    iam_policy_size,
    key_policy_findings,
    limit_findings,
    policy_bytes,
    role_policy_findings,
    role_trust_policy_findings,
    s3_policy_size,
    tags_findings,
    topic_policy_findings,
    trails_per_region_findings,
)
from wizard.plan.planner import build_plan
from wizard.plan.review import review_policies

ACCOUNT = "123456789012"
CTX = AccountContext(account_id=ACCOUNT, region="us-east-1")
BUCKET = "existing-logs-123456789012"


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def sized(size: int, *, measure: Callable[[str], int] = lambda t: len(t.encode())) -> str:
    """A compact policy whose ``measure`` is exactly ``size``."""

    def make(padding: str) -> str:
        return compact(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Pad",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET}/private/{padding}",
                    }
                ],
            }
        )

    text = make("a" * (size - measure(make(""))))
    assert measure(text) == size
    return text


def non_space(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def only(findings: list[Any]) -> Any:
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.severity == "error"
    return finding


# ---------------------------------------------------------------------------- measuring


def test_s3_size_drops_layout_but_keeps_white_space_inside_strings() -> None:
    text = '{\n  "Sid": "a b",\n  "Quote": "x\\" y"\n}'
    assert s3_policy_size(text) == len('{"Sid":"a b","Quote":"x\\" y"}')
    assert s3_policy_size(text.encode()) == s3_policy_size(text)


def test_byte_and_character_measures() -> None:
    assert policy_bytes('{"Sid": "é"}') == len('{"Sid": "é"}') + 1  # é is two UTF-8 bytes
    assert iam_policy_size('{ "a" :\n\t"b c" }') == len('{"a":"bc"}')


def test_selector_counts_cover_every_operator_and_basic_resources() -> None:
    counts = count_selectors(
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["a", "b"]}]}, {}],
        [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.ARN", "StartsWith": ["x", "yy"], "NotEndsWith": ["z"]},
                ]
            }
        ],
    )
    assert (counts.selectors, counts.data_resources) == (2, 2)
    assert (counts.advanced_selectors, counts.advanced_values, counts.longest_value) == (1, 4, 4)


# ------------------------------------------------------------------------ the findings


def test_bucket_policy_at_20_kb_passes_and_one_byte_over_is_a_finding() -> None:
    assert bucket_policy_findings(sized(20480), bucket=BUCKET, before="{}") == []
    pretty = json.dumps(json.loads(sized(20480)), indent=4)
    assert bucket_policy_findings(pretty, bucket=BUCKET, before="{}") == []

    before = sized(20000)
    finding = only(bucket_policy_findings(sized(20481), bucket=BUCKET, before=before))
    assert finding.code == "bucket-policy-too-large"
    assert finding.subject == BUCKET
    for text in ("20,481 bytes", "20,480", "current policy is 20,000", "at least 1 bytes"):
        assert text in finding.message


def test_new_bucket_policy_over_20_kb_says_it_is_new() -> None:
    finding = only(bucket_policy_findings(sized(21504), bucket=BUCKET, new=True))
    assert "new bucket" in finding.message and "21,504 bytes" in finding.message


def test_key_policy_limit_counts_bytes_as_sent_and_names_the_readers() -> None:
    at = sized(32768)
    assert key_policy_findings(at, key="alias/k") == []
    # White space counts for KMS: the same document pretty-printed is over.
    over = json.dumps(json.loads(at), indent=2)
    finding = only(key_policy_findings(over, key="alias/k", readers=3000))
    assert finding.code == "key-policy-too-large"
    size = len(over.encode())
    assert f"{size:,} bytes" in finding.message and "32,768" in finding.message
    assert "3,000 principals" in finding.message
    assert f"at least {size - 32768:,} bytes" in finding.message


def test_topic_policy_limits_bytes_and_statements() -> None:
    assert topic_policy_findings(sized(30720), topic="t") == []
    finding = only(topic_policy_findings(sized(30721), topic="t", before="{}"))
    assert finding.code == "topic-policy-too-large"
    assert "30,721 bytes" in finding.message and "30,720" in finding.message

    def statements(n: int) -> str:
        return compact({"Statement": [{"Sid": f"S{i}"} for i in range(n)]})

    assert topic_policy_findings(statements(100), topic="t") == []
    finding = only(topic_policy_findings(statements(101), topic="t"))
    assert "101 statements" in finding.message and "at most 100" in finding.message


def test_role_trust_policy_counts_characters_without_white_space() -> None:
    at = sized(2048, measure=non_space)
    assert role_trust_policy_findings(json.dumps(json.loads(at), indent=8), role="r") == []
    finding = only(role_trust_policy_findings(sized(2049, measure=non_space), role="r"))
    assert finding.code == "role-trust-policy-too-large"
    assert "2,049 characters" in finding.message and "2,048" in finding.message


def test_role_inline_policies_are_counted_together() -> None:
    first = sized(6000, measure=non_space)
    assert role_policy_findings([first, sized(4240, measure=non_space)], role="r") == []
    finding = only(role_policy_findings([first, sized(4241, measure=non_space)], role="r"))
    assert finding.code == "role-policy-too-large"
    assert "10,241 characters" in finding.message and "10,240" in finding.message


def advanced(values: int, length: int = 20) -> list[dict[str, Any]]:
    return [
        {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.ARN", "StartsWith": ["x" * length] * (values - 1)},
            ]
        }
    ]


@pytest.mark.parametrize(
    ("ok", "over", "text"),
    [
        ({"advanced": advanced(500)}, {"advanced": advanced(501)}, "501 values"),
        (
            {"advanced": advanced(2, 2048)},
            {"advanced": advanced(2, 2049)},
            "value of 2,049 characters",
        ),
        ({"event_selectors": [{}] * 5}, {"event_selectors": [{}] * 6}, "6 event selectors"),
        (
            {"event_selectors": [{"DataResources": [{"Values": ["v"] * 250}]}]},
            {"event_selectors": [{"DataResources": [{"Values": ["v"] * 251}]}]},
            "251 data resources",
        ),
    ],
    ids=["advanced-values", "value-length", "basic-selectors", "data-resources"],
)
def test_event_selector_limits(ok: dict[str, Any], over: dict[str, Any], text: str) -> None:
    assert event_selector_findings(**ok, trail="t") == []
    finding = only(event_selector_findings(**over, trail="t", data_prefixes=499))
    assert finding.code == "event-selectors-limit"
    assert text in finding.message and "499 resource ARN prefixes" in finding.message


def trail(name: str, region: str, *, multi: bool = False, account: str = ACCOUNT) -> TrailFacts:
    arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"
    return TrailFacts(
        name=name, arn=arn, home_region=region, multi_region=multi, owner_account=account
    )


def test_trails_per_region_counts_multi_region_trails_homed_elsewhere() -> None:
    four = [trail(f"t{i}", "us-east-1") for i in range(4)]
    others = [
        trail("other-region", "eu-west-1"),
        trail("org", "eu-west-1", multi=True, account="999988887777"),
        four[0],  # listed twice (a shadow copy): counted once
    ]
    assert trails_per_region_findings([*four, *others], account=ACCOUNT, region="us-east-1") == []

    everywhere = trail("everywhere", "eu-west-1", multi=True)
    finding = only(
        trails_per_region_findings(
            [*four, *others, everywhere], account=ACCOUNT, region="us-east-1"
        )
    )
    assert finding.code == "trails-per-region-limit"
    assert "us-east-1 already has 5 trails" in finding.message
    assert "everywhere (multi-region, home eu-west-1)" in finding.message
    assert "Delete an unused trail" in finding.message
    assert (
        trails_per_region_findings(
            [*four, everywhere], account=ACCOUNT, region="us-east-1", creates_trail=False
        )
        == []
    )


def test_tags_count_the_wizards_own_tag_once() -> None:
    resources = ["the trail t"]
    assert (
        tags_findings({f"k{i}": "v" for i in range(49)}, resources=resources, wizard_tags=[RUN_TAG])
        == []
    )
    with_run = {f"k{i}": "v" for i in range(49)} | {RUN_TAG: "x"}
    assert tags_findings(with_run, resources=resources, wizard_tags=[RUN_TAG]) == []
    finding = only(
        tags_findings({f"k{i}": "v" for i in range(50)}, resources=resources, wizard_tags=[RUN_TAG])
    )
    assert finding.code == "tags-limit"
    assert "51 tags" in finding.message and RUN_TAG in finding.message
    assert "Remove at least 1 from trail.tags" in finding.message


# ---------------------------------------------------------------- through the whole plan


def discovery(policy: str | None = None, trails: list[TrailFacts] | None = None) -> Discovery:
    bucket = BucketFacts(
        name=BUCKET,
        exists=policy is not None,
        owned=True if policy is not None else None,
        region="us-east-1" if policy is not None else None,
        policy=policy,
        public_access_block=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        ),
    )
    return Discovery(context=CTX, bucket=bucket, trails=trails or [])


def answers(**sections: Any) -> Answers:
    doc: dict[str, Any] = {
        "trail": {"name": "audit"},
        "bucket": {"name": BUCKET, "create": True},
        "encryption": {"type": "sse-s3"},
    }
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return Answers.model_validate(doc)


def codes(answers: Answers, found: Discovery) -> list[str]:
    reviews = review_policies(answers, CTX, found)
    return [f.code for f in limit_findings(answers, CTX, found, reviews)]


def test_an_ordinary_plan_has_no_limit_findings() -> None:
    assert codes(answers(), discovery()) == []


def test_merging_into_a_bucket_policy_near_20_kb_blocks_the_plan() -> None:
    existing = answers(bucket={"create": False})
    near = sized(19000)
    assert codes(existing, discovery(near)) == []

    full = sized(20300)
    plan = build_plan(existing, CTX, discovery(full))

    (finding,) = [f for f in plan.findings if f.code == "bucket-policy-too-large"]
    assert plan.blocked
    merged = plan.policies["bucket_policy"]
    size = len(compact(json.loads(merged)).encode())
    assert size > 20480
    assert f"{size:,} bytes" in finding.message and "current policy is 20,300" in finding.message


def test_thousands_of_decrypt_principals_push_the_key_policy_past_32_kb() -> None:
    readers = [f"arn:aws:iam::{ACCOUNT}:role/reader-{i:04d}" for i in range(1000)]
    found = discovery()
    plan = build_plan(
        answers(encryption={"type": "sse-kms", "key": "new", "decrypt_principals": readers}),
        CTX,
        found,
    )
    (finding,) = [f for f in plan.findings if f.code == "key-policy-too-large"]
    assert plan.blocked
    assert len(plan.policies["key_policy"].encode()) > 32768
    assert "1,000 principals" in finding.message


def test_thousands_of_data_selectors_block_the_plan() -> None:
    prefixes = [f"arn:aws:s3:::data-bucket-{i}/" for i in range(2000)]
    plan = build_plan(
        answers(events={"data": [{"type": "s3", "resources": prefixes}]}), CTX, discovery()
    )
    (finding,) = [f for f in plan.findings if f.code == "event-selectors-limit"]
    assert plan.blocked
    # Counted here from the request the plan would send: every value of every condition.
    sent = plan.step("put-event-selectors").call.params["AdvancedEventSelectors"]
    values = sum(
        len(v) for s in sent for f in s["FieldSelectors"] for k, v in f.items() if k != "Field"
    )
    assert values == 2003  # management (1), the data selector's two fixed values, 2,000 ARNs
    assert f"{values:,} values" in finding.message
    assert "2,000 resource ARN prefixes" in finding.message


def test_fifty_tags_plus_the_run_tag_block_the_plan() -> None:
    tags = {f"k{i}": "v" for i in range(50)}
    found = discovery()
    assert "tags-limit" in codes(answers(trail={"name": "audit", "tags": tags}), found)
    fewer = {f"k{i}": "v" for i in range(49)}
    assert "tags-limit" not in codes(answers(trail={"name": "audit", "tags": fewer}), found)


def test_a_full_home_region_blocks_the_plan() -> None:
    full = [trail(f"t{i}", "us-east-1") for i in range(5)]
    assert codes(answers(), discovery(trails=full)) == ["trails-per-region-limit"]
    assert codes(answers(), discovery(trails=full[:4])) == []


def test_every_limit_names_its_source() -> None:
    for name in limits.__all__:
        if name.isupper():
            value = getattr(limits, name)
            assert isinstance(value, int) and value > 0
    source = (limits.__file__ or "").replace(".pyc", ".py")
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    for name in [n for n in limits.__all__ if n.isupper()]:
        block = text.split(f"\n{name} = ", 1)[1].split('"""', 2)[1]
        same_as = "same" in block.lower()
        assert "https://docs.aws.amazon.com/" in block or same_as, name

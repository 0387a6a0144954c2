"""A lab's automatic checks: read-only looks at the account, each with the reason it passes
or fails.

Every check reads through :class:`wizard.ports.AwsCaller` and the wizard's own readers:
trail health (:func:`wizard.health.trails.check_health`) for a trail's settings, status,
bucket and key; the log file readers (:mod:`wizard.health.logfiles`) for where files land
and what they hold; digest validation (:func:`wizard.health.integrity.validate_trail`) for a
tampered file; the policy evaluator (:mod:`wizard.policy.access`) for who may decrypt; the
merge's statement comparison for statements that must survive. Nothing is ever changed.

Checks that judge an answer (kind ``answer_*``) derive the expected value from the account
as it is (the file validation finds tampered, the event IDs in the delivered files), never
from a value written in the lab.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from wizard.health.integrity import validate_trail
from wizard.health.logfiles import (
    LogFileError,
    latest_log_files,
    read_log_file,
    trail_log_location,
)
from wizard.health.trails import TrailHealth, TrailNotFound, check_health
from wizard.labs.model import CheckResult, CheckSpec, Lab, fill
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.model.names import parse_arn
from wizard.policy.access import Principal, Request, evaluate
from wizard.policy.merge import statement_present
from wizard.policy.operator import operator_needs
from wizard.ports import AwsCaller, AwsError

OUTSIDER = "arn:{partition}:iam::999999999999:root"
"""A principal of an account that is not the trainee's: who "everyone" stands for."""

DELIVERY_WAIT = (
    "wait about 20 seconds (the sandbox delivers log files every 10 s; AWS within about 5 minutes)"
)
"""How a trainee gets their calls into the log files."""

MAX_LOG_FILES = 20
"""Most log files an answer check reads (the newest)."""


class _NotYet(Exception):
    """The check cannot pass yet; the message says why and what to do."""


class Judge:
    """Runs one lab's checks, reading each trail's health once."""

    def __init__(
        self,
        lab: Lab,
        caller: AwsCaller,
        ctx: AccountContext,
        *,
        answer: str | None = None,
        started: datetime | None = None,
    ) -> None:
        self.lab = lab
        self.caller = caller
        self.ctx = ctx
        self.answer = answer.strip() if answer and answer.strip() else None
        self.started = started
        self._health: dict[str, TrailHealth] = {}

    # -------------------------------------------------------------------- helpers

    def fill(self, value: Any) -> Any:
        """``value`` with the lab placeholders filled in for this account."""
        return fill(value, self.ctx.account_id, self.ctx.region, self.ctx.partition)

    def health(self, trail: str) -> TrailHealth:
        """The trail's health, read once per run."""
        if trail not in self._health:
            try:
                report = check_health(self.caller, self.ctx.region, trail=trail)
            except TrailNotFound:
                raise _NotYet(
                    f"There is no trail named {trail} yet: create it (the lab's goal says how)."
                ) from None
            self._health[trail] = report.trails[0]
        return self._health[trail]

    def _need_answer(self, what: str) -> str:
        if self.answer is None:
            raise _NotYet(
                f"This check needs your answer: run `cloudtrail-wizard lab check --answer "
                f"TEXT` with {what}."
            )
        return self.answer

    # -------------------------------------------------------------------- running

    def run(self) -> list[CheckResult]:
        """Every check of the lab, in order."""
        return [self.one(spec) for spec in self.lab.checks]

    def one(self, spec: CheckSpec) -> CheckResult:
        """One check's outcome; a failed read is a failed check that says what was refused."""
        filled = CheckSpec.model_validate(self.fill(spec.model_dump(exclude_unset=True)))
        method: Callable[[CheckSpec], str] = getattr(self, f"_check_{filled.kind}")
        try:
            reason = method(filled)
            passed = True
        except _NotYet as not_yet:
            reason, passed = str(not_yet), False
        except AwsError as err:
            reason, passed = (
                f"The check could not read what it needs ({err.service}:{err.operation} "
                f"failed with {err.code}: {err.message}). Try again; if it keeps failing, "
                "`cloudtrail-wizard lab reset` starts the lab over.",
                False,
            )
        except LogFileError as err:
            reason, passed = str(err), False
        return CheckResult(id=filled.id, title=filled.title, passed=passed, reason=reason)

    # ------------------------------------------------------------------ the checks

    def _check_trail_logging(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        if facts.is_logging:
            return f"{facts.name} exists in {facts.home_region} and is logging."
        if facts.is_logging is None:
            raise _NotYet(f"{facts.name} exists, but its status could not be read.")
        raise _NotYet(
            f"{facts.name} exists but is not logging: start it (the wizard starts the trails "
            "it creates; `aws cloudtrail start-logging --name "
            f"{facts.name}` starts one by hand)."
        )

    def _check_trail_delivers(self, spec: CheckSpec) -> str:
        health = self.health(_text(spec.trail))
        facts = health.facts
        if facts.latest_delivery_error:
            why = next(
                (p.message for p in health.problems if "deliver" in p.code),
                "CloudTrail cannot write to the bucket.",
            )
            raise _NotYet(
                f"The last delivery of {facts.name} failed with {facts.latest_delivery_error}. "
                f"{why} After the fix, make a call or two: CloudTrail tries again at the next "
                f"delivery ({DELIVERY_WAIT})."
            )
        if not facts.latest_delivery_time:
            raise _NotYet(
                f"{facts.name} has delivered no log file yet: make a few calls (run "
                f"`cloudtrail-wizard --sandbox status`), then {DELIVERY_WAIT}."
            )
        return f"{facts.name} delivered its last log file at {facts.latest_delivery_time}."

    def _check_trail_bucket(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        if spec.bucket is not None and facts.bucket != spec.bucket:
            raise _NotYet(
                f"{facts.name} delivers to {facts.bucket}; this lab asks for {spec.bucket}. "
                "Change the trail's bucket in the wizard (or start the lab over)."
            )
        if spec.not_buckets and facts.bucket in spec.not_buckets:
            raise _NotYet(
                f"{facts.name} delivers to {facts.bucket}, a bucket that was there before the "
                "lab; this lab asks for a new one."
            )
        if facts.bucket_exists is False:
            raise _NotYet(f"{facts.name} names the bucket {facts.bucket}, which does not exist.")
        return f"{facts.name} delivers to {facts.bucket}."

    def _check_trail_prefix(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        wanted = _text(spec.prefix).strip("/")
        if facts.prefix.strip("/") != wanted:
            have = f"the prefix {facts.prefix!r}" if facts.prefix else "no prefix"
            raise _NotYet(
                f"{facts.name} has {have}; this lab asks for {wanted!r} (the storage step's "
                "prefix field)."
            )
        return f"{facts.name} writes under the prefix {wanted}/."

    def _check_bucket_policy_allows(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        if facts.bucket_policy_allows:
            return (
                f"The policy of {facts.bucket} lets CloudTrail check the bucket's ACL and write "
                f"{facts.name}'s files."
            )
        raise _NotYet(
            f"The policy of {facts.bucket} does not let CloudTrail write {facts.name}'s files: "
            f"{facts.bucket_policy_problem or 'it could not be read'}."
        )

    def _bucket_policy(self, bucket: str, region: str | None) -> dict[str, Any] | None:
        try:
            text = self.caller.call(
                "s3", region or self.ctx.region, "GetBucketPolicy", {"Bucket": bucket}
            )["Policy"]
        except AwsError as err:
            if err.not_found:
                return None
            raise
        document = json.loads(text)
        return document if isinstance(document, dict) else None

    def _check_bucket_policy_generated(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        bucket = _text(facts.bucket)
        policy = self._bucket_policy(bucket, facts.bucket_region)
        if policy is None:
            raise _NotYet(f"{bucket} has no bucket policy: CloudTrail cannot write to it.")
        bucket_arn = f"arn:{self.ctx.partition}:s3:::{bucket}"
        other_trail = facts.arn.rsplit("/", 1)[0] + "/some-other-trail"
        key = f"{bucket_arn}/{facts.prefix + '/' if facts.prefix else ''}AWSLogs/"
        key += f"{facts.owner_account}/CloudTrail/x.json.gz"
        base = {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": True}
        other = evaluate(
            policy,
            Request(
                principal=Principal.service("cloudtrail.amazonaws.com"),
                action="s3:PutObject",
                resource=key,
                context={**base, "aws:SourceArn": other_trail},
            ),
        )
        if other.allowed:
            raise _NotYet(
                f"The policy of {bucket} lets any trail write there, not only {facts.name}: the "
                "wizard's statements carry an aws:SourceArn condition naming the trail."
            )
        plain = evaluate(
            policy,
            Request(
                principal=Principal.aws(
                    f"arn:{self.ctx.partition}:iam::{facts.owner_account}:root"
                ),
                action="s3:GetObject",
                resource=key,
                context={"aws:SecureTransport": False},
            ),
        )
        if plain.decision != "explicit-deny":
            raise _NotYet(
                f"The policy of {bucket} does not refuse requests without TLS: the wizard's "
                "policy has a Deny statement on aws:SecureTransport false."
            )
        return (
            f"The policy of {bucket} is pinned to {facts.name} (aws:SourceArn) and refuses "
            "requests without TLS, as the wizard writes it."
        )

    def _check_statements_kept(self, spec: CheckSpec) -> str:
        step = next(s for s in self.lab.setup if s.id == spec.setup)
        seeded = self.fill(step.model_dump(exclude_unset=True))
        bucket = str(seeded["name"])
        wanted = seeded["policy"].get("Statement") or []
        wanted = wanted if isinstance(wanted, list) else [wanted]
        policy = self._bucket_policy(bucket, seeded.get("region"))
        have = (policy or {}).get("Statement") or []
        have = have if isinstance(have, list) else [have]
        lost = [s for s in wanted if not statement_present(s, have)]
        if lost:
            names = ", ".join(str(s.get("Sid") or f"statement {wanted.index(s) + 1}") for s in lost)
            raise _NotYet(
                f"The policy of {bucket} lost {names}, which the bucket's owner wrote. The wizard "
                "merges its statements into a policy; a policy replaced by hand loses the "
                "others'. Put them back (the lab's starting policy is in its file)."
            )
        return (
            f"Every statement the owner of {bucket} wrote is still in its policy ({len(wanted)})."
        )

    def _check_control(self, spec: CheckSpec) -> str:
        health = self.health(_text(spec.trail))
        try:
            result = health.control(_text(spec.control))
        except KeyError:
            raise _NotYet(f"There is no control {spec.control}.") from None
        if result.status == "pass":
            return f"{result.control.id} ({result.control.title}) passes: {result.reason}"
        raise _NotYet(
            f"{result.control.id} ({result.control.title}) does not pass: {result.reason}"
        )

    def _check_trail_encrypted(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        wanted = spec.encryption or "any"
        if facts.kms_key_arn is None:
            if wanted == "sse-kms":
                raise _NotYet(
                    f"{facts.name} uses SSE-S3 (keys S3 manages); this lab asks for SSE-KMS, a "
                    "KMS key you control: choose it on the wizard's encryption step."
                )
            return f"{facts.name}'s files are encrypted with SSE-S3 (keys S3 manages)."
        if wanted == "sse-s3":
            raise _NotYet(f"{facts.name} uses SSE-KMS; this lab asks for SSE-S3.")
        if facts.key_state not in (None, "Enabled"):
            raise _NotYet(f"The key {facts.kms_key_arn} is {facts.key_state}: it cannot encrypt.")
        if facts.key_policy_allows is False:
            raise _NotYet(
                f"The policy of {facts.kms_key_arn} does not let CloudTrail encrypt: "
                f"{facts.key_policy_problem}."
            )
        return f"{facts.name}'s files are encrypted with SSE-KMS, key {facts.kms_key_arn}."

    def _check_key_in_bucket_region(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        if facts.kms_key_arn is None:
            raise _NotYet(f"{facts.name} has no KMS key.")
        parsed = parse_arn(facts.kms_key_arn)
        key_region = parsed.region if parsed else None
        if key_region != facts.bucket_region:
            raise _NotYet(
                f"The key of {facts.name} is in {key_region}, its bucket {facts.bucket} in "
                f"{facts.bucket_region}: CloudTrail needs a key in the bucket's region. Choose "
                "or create a key there."
            )
        return f"The key and the bucket are both in {key_region}."

    def _check_key_decrypt_scoped(self, spec: CheckSpec) -> str:
        facts = self.health(_text(spec.trail)).facts
        if facts.kms_key_arn is None:
            raise _NotYet(f"{facts.name} has no KMS key.")
        parsed = parse_arn(facts.kms_key_arn)
        region = parsed.region if parsed and parsed.region else facts.home_region
        document = json.loads(
            self.caller.call(
                "kms", region, "GetKeyPolicy", {"KeyId": facts.kms_key_arn, "PolicyName": "default"}
            )["Policy"]
        )
        context = {"kms:EncryptionContext:aws:cloudtrail:arn": facts.arn}

        def decrypt(principal: Principal) -> bool:
            request = Request(
                principal=principal,
                action="kms:Decrypt",
                resource=facts.kms_key_arn or "",
                context={**context, "kms:CallerAccount": principal.account or ""},
            )
            return evaluate(document, request).allowed

        outsider = Principal.aws(self.fill(OUTSIDER))
        if decrypt(outsider) or decrypt(Principal.anonymous()):
            raise _NotYet(
                "The key policy still lets anyone decrypt the log files (a statement with "
                'Principal "*" and no condition that narrows it). The wizard never removes '
                "someone else's statement: remove that one yourself, then give the readers "
                "their own."
            )
        missing = [r for r in spec.readers or [] if not decrypt(Principal.aws(r))]
        if missing:
            raise _NotYet(
                f"{', '.join(missing)} cannot decrypt the log files: add a statement that lets "
                "them (kms:Decrypt, with the CloudTrail encryption context)."
            )
        return (
            f"Only {', '.join(spec.readers or [])} (and the account's own IAM policies) may "
            "decrypt the log files; no one outside the account can."
        )

    def _check_made_by(self, spec: CheckSpec) -> str:
        event, user = _text(spec.event), _text(spec.user)
        params: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event}]
        }
        events = self.caller.paginate(
            "cloudtrail", self.ctx.region, "LookupEvents", "Events", params
        )
        if spec.trail:
            events = [e for e in events if spec.trail in str(e.get("CloudTrailEvent", ""))]
        if self.started is not None:
            # Only what the trainee did in this lab: an earlier attempt does not count.
            events = [e for e in events if _after(e.get("EventTime"), self.started)]
        if not events:
            target = f" of {spec.trail}" if spec.trail else ""
            raise _NotYet(f"No {event}{target} is in the event history yet.")
        by = {str(e.get("Username") or "") for e in events}
        if user in by:
            return f"{event} was called by {user} (event history)."
        raise _NotYet(
            f"{event} was called by {', '.join(sorted(by))}, not by {user}: switch to that "
            f"identity (`cloudtrail-wizard sandbox identity {user}`) and do it again."
        )

    def _files(self, trail: str) -> tuple[str, str, list[str]]:
        location = trail_log_location(self.caller, self.ctx.region, trail)
        listing = latest_log_files(
            self.caller, location.bucket, location.bucket_region, location.root, limit=MAX_LOG_FILES
        )
        return location.bucket, location.bucket_region, [f.key for f in listing.files]

    def _check_files_under_prefix(self, spec: CheckSpec) -> str:
        try:
            bucket, _region, keys = self._files(_text(spec.trail))
        except TrailNotFound:
            raise _NotYet(f"There is no trail named {spec.trail} yet.") from None
        if not keys:
            raise _NotYet(
                f"No log file of {spec.trail} is in {bucket} yet: make a few calls, then "
                f"{DELIVERY_WAIT}."
            )
        return f"Log files are landing in s3://{bucket}/{keys[0].rsplit('/', 1)[0]}/."

    def _check_answer_log_location(self, spec: CheckSpec) -> str:
        try:
            location = trail_log_location(self.caller, self.ctx.region, _text(spec.trail))
        except TrailNotFound:
            raise _NotYet(f"There is no trail named {spec.trail} yet.") from None
        answer = self._need_answer("the S3 folder the log files land in (s3://BUCKET/...)")
        given = answer.removeprefix("s3://").strip("/")
        root = f"{location.bucket}/{location.root}".rstrip("/")
        if given == root or given.startswith(root + "/"):
            return f"Yes: {spec.trail}'s files land under s3://{root}/REGION/YYYY/MM/DD/."
        raise _NotYet(
            f"{answer} is not where {spec.trail}'s files land. List the bucket "
            f"(`aws s3 ls --recursive s3://{location.bucket}/`) and look at the keys' start."
        )

    def _check_answer_tampered_file(self, spec: CheckSpec) -> str:
        report = validate_trail(self.caller, _text(spec.trail), region=self.ctx.region)
        if report.problem:
            raise _NotYet(f"The trail's files cannot be validated: {report.problem}")
        bad = [f for f in report.files if f.kind == "log" and not f.valid]
        if not bad:
            raise _NotYet(
                f"Every log file of {spec.trail} validates: nothing was tampered with (start "
                "the lab again to get a tampered file)."
            )
        answer = self._need_answer("the name of the log file that was changed")
        name = answer.removeprefix("s3://").rstrip("/").rsplit("/", 1)[-1]
        if any(f.key.rsplit("/", 1)[-1] == name for f in bad):
            return f"Right: {name} no longer matches the hash its digest file signed."
        if any(f.key.rsplit("/", 1)[-1] == name for f in report.files):
            raise _NotYet(f"{name} validates: it is as CloudTrail delivered it. Look again.")
        raise _NotYet(
            f"{name} is not a log file of {spec.trail}. Run `cloudtrail-wizard --sandbox "
            f"validate {spec.trail}` and give the name of the file it reports."
        )

    def _check_answer_event_id(self, spec: CheckSpec) -> str:
        event, user = _text(spec.event), spec.user
        try:
            bucket, region, keys = self._files(_text(spec.trail))
        except TrailNotFound:
            raise _NotYet(f"There is no trail named {spec.trail} yet.") from None
        ids: set[str] = set()
        for key in keys:
            for record in read_log_file(self.caller, bucket, region, key):
                if record.get("eventName") != event:
                    continue
                if user is not None and _user_name(record) != user:
                    continue
                ids.add(str(record.get("eventID")))
        by = f" made by {user}" if user else ""
        if not ids:
            raise _NotYet(
                f"No {event} call{by} is in {spec.trail}'s delivered log files yet: make one, "
                f"then {DELIVERY_WAIT}."
            )
        answer = self._need_answer(f"the eventID of one of your {event} calls")
        if answer in ids:
            return f"Right: {answer} is one of your {event} calls in the delivered log files."
        raise _NotYet(
            f"{answer} is not the eventID of a {event} call{by} in {spec.trail}'s log files. "
            f"`cloudtrail-wizard --sandbox logs {spec.trail}` shows the records; look at "
            "eventName and eventID."
        )

    def _check_answer_missing_action(self, spec: CheckSpec) -> str:
        user = _text(spec.user)
        answer = self._need_answer("one action the wizard said the read-only identity lacks")
        action = answer.strip().strip("`'\"")
        trail = spec.trail or "lab-trail"
        answers = Answers.model_validate(
            {
                "trail": {"name": trail},
                "bucket": {
                    "name": spec.bucket or f"{trail}-logs-{self.ctx.account_id}",
                    "create": True,
                },
            }
        )
        needs = [
            n
            for n in operator_needs(answers, self.ctx)
            if action.lower() in {a.lower() for a in n.actions}
        ]
        if not needs:
            raise _NotYet(
                f"{action} is not an action the wizard needs to set up a trail. Run the plan as "
                f"{user} and copy one of the actions it lists (service:Action)."
            )
        arn = str(
            self.caller.call("iam", self.ctx.region, "GetUser", {"UserName": user})["User"]["Arn"]
        )
        results = self.caller.paginate(
            "iam",
            self.ctx.region,
            "SimulatePrincipalPolicy",
            "EvaluationResults",
            {
                "PolicySourceArn": arn,
                "ActionNames": [
                    needs[0].actions[[a.lower() for a in needs[0].actions].index(action.lower())]
                ],
                "ResourceArns": list(needs[0].resources),
            },
        )
        decisions = {str(r.get("EvalDecision")) for r in results}
        if decisions and decisions != {"allowed"}:
            return (
                f"Right: {user} may not call {action}, which the wizard needs to create the trail."
            )
        raise _NotYet(
            f"{user} may call {action}: the wizard listed others. Look at its list again."
        )


def _text(value: str | None) -> str:
    """A field the check's kind requires (the model refuses the lab without it)."""
    assert value is not None
    return value


def _after(moment: Any, start: datetime) -> bool:
    if isinstance(moment, datetime):
        when = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        try:
            when = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
        except ValueError:
            return True
    return when >= (start if start.tzinfo else start.replace(tzinfo=UTC))


def _user_name(record: dict[str, Any]) -> str | None:
    identity = record.get("userIdentity") or {}
    name = identity.get("userName")
    if name:
        return str(name)
    arn = str(identity.get("arn") or "")
    return arn.rsplit("/", 1)[-1] if ":user/" in arn else None


def run_checks(
    lab: Lab,
    caller: AwsCaller,
    ctx: AccountContext,
    *,
    answer: str | None = None,
    started: datetime | None = None,
) -> list[CheckResult]:
    """Run every check of ``lab`` (read-only) and say why each passes or fails.

    Args:
        lab: The lab.
        caller: Reads the account (the checks make no change).
        ctx: The account and region the lab runs in (fills ``{account}`` and the others).
        answer: The trainee's answer, for the ``answer_*`` checks.
        started: When the lab was started (for checks about what happened since).

    Returns:
        One result per check, in the lab's order.
    """
    return Judge(lab, caller, ctx, answer=answer, started=started).run()


def summary(results: Sequence[CheckResult]) -> str:
    """``3 of 4 checks pass``."""
    passed = sum(r.passed for r in results)
    return f"{passed} of {len(results)} check{'s' if len(results) != 1 else ''} pass"

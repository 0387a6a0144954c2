"""Fixtures for the fault-injection tests.

One strict, seeded sandbox per test session (per xdist worker) with a :class:`FaultProxy`
in front of it; the sandbox is reset and re-seeded, and the proxy's faults and log cleared,
for every test. The wizard talks to the proxy; the tests set the account up and read it
back with plain boto3 clients that talk to the sandbox directly, so their requests are
neither faulted nor logged.

The (example, step) pairs the rollback tests are parametrized over come from the real
plans: :func:`example_plans` plans every example against the sandbox once, at collection
time, and the same sandbox then serves the tests.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.faults.proxy import FaultProxy
from tests.sandbox_fixtures import engine_on, prepare_example
from wizard.model.answers_file import load_answers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
REGION = "us-east-1"
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
"""The seeded regions, where anything the examples create can end up."""
CLOUDTRAIL = "cloudtrail.amazonaws.com"
APP_BUCKET = f"demo-app-data-{ACCOUNT}"

SEED = int(os.environ.get("FAULTS_SEED", "20261127"))
"""Seeds every random choice of the suite (throttled requests, Ctrl-C points)."""

# The hand-formatted policy the existing-bucket example's bucket gets before planning:
# odd spacing, unusual key order, a unicode escape, a trailing newline. A rollback that
# re-serialised the document instead of restoring the exact text would change it.
_FIRST = (
    '{ "Effect" : "Allow",\n      "Sid":"AppReaders",  "Principal": {"AWS":'
    f' "arn:aws:iam::{ACCOUNT}:role/AppReader"}},\n      "Action": ["s3:GetObject"],'
    f' "Resource": "arn:aws:s3:::{APP_BUCKET}/*"}}'
)
_SECOND = (
    '{"Sid": "DenyHttp\\u0021", "Effect": "Deny", "Principal": "*", "Action": "s3:*",'
    f'\n  "Resource": ["arn:aws:s3:::{APP_BUCKET}", "arn:aws:s3:::{APP_BUCKET}/*"],'
    '\n  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}'
)
HAND_WRITTEN_POLICY = (
    '{\n  "Version": "2012-10-17",\n  "Id": "team-policy",\n  "Statement": [\n    '
    f"{_FIRST},\n    {_SECOND}\n  ]\n}}\n"
)


# ---------------------------------------------------------------------------- the sandbox

_LOCK = threading.Lock()


@functools.cache
def shared_sandbox() -> Any:
    """The process's strict sandbox, started on first use and stopped at exit."""
    from wizard.sandbox.server import start_sandbox

    # moto's server logs a traceback for every operation it does not implement
    # (iam:SimulatePrincipalPolicy, which the permission check tries): noise here.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    sandbox = start_sandbox(seed=False)
    atexit.register(sandbox.stop)
    return sandbox


@functools.cache
def _direct_session() -> Any:
    import boto3
    import botocore.session

    # Explicit dummy keys, and AWS_PROFILE ignored: nothing from the environment is used.
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return boto3.session.Session(
        botocore_session=core,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=REGION,
    )


_CLIENTS: dict[tuple[str, str], Any] = {}


def direct(service: str, region: str = REGION) -> Any:
    """A plain boto3 client on the sandbox itself (bypassing the proxy), cached."""
    key = (service, region)
    with _LOCK:
        if key not in _CLIENTS:
            from botocore.config import Config

            _CLIENTS[key] = _direct_session().client(
                service,
                region_name=region,
                endpoint_url=shared_sandbox().endpoint_url,
                config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
            )
        return _CLIENTS[key]


def prepare(example: Path) -> None:
    """What an example needs beyond the seed (:func:`tests.sandbox_fixtures.prepare_example`),
    with the existing bucket's policy hand-formatted."""
    prepare_example(example, direct, bucket_policies={APP_BUCKET: HAND_WRITTEN_POLICY})


@dataclass(frozen=True)
class PlannedStep:
    """A step of an example's real plan, as far as the parametrization needs it."""

    id: str
    service: str
    operation: str
    creates: str | None
    has_policy_before: bool
    has_undo: bool

    @property
    def target(self) -> str:
        return f"{self.service}:{self.operation}"


@functools.cache
def example_plans() -> dict[str, list[PlannedStep]]:
    """Every example's plan against the freshly seeded sandbox (made once per process)."""
    from wizard.aws.session import SessionSettings, open_session
    from wizard.engine import Engine

    sandbox = shared_sandbox()
    session = open_session(SessionSettings(sandbox_endpoint=sandbox.endpoint_url), verify=False)
    plans: dict[str, list[PlannedStep]] = {}
    for example in EXAMPLES:
        sandbox.reset(seed=True)
        prepare(example)
        plan, _found = Engine.connect(session.caller, REGION).plan(load_answers(example))
        if plan.blocked:
            raise RuntimeError(f"{example.name} is blocked on the sandbox: {plan.findings}")
        plans[example.stem] = [
            PlannedStep(
                id=s.id,
                service=s.call.service,
                operation=s.call.operation,
                creates=s.creates,
                has_policy_before=bool(s.policy and s.policy.before),
                has_undo=bool(s.undo),
            )
            for s in plan.steps
            if s.mutating
        ]
    return plans


@pytest.fixture(scope="session")
def fault_sandbox() -> Any:
    """The session's sandbox (shared with collection)."""
    return shared_sandbox()


@pytest.fixture(scope="session")
def proxy(fault_sandbox: Any) -> Iterator[FaultProxy]:
    """The fault proxy in front of the sandbox."""
    with FaultProxy(fault_sandbox.endpoint_url, seed=SEED) as running:
        yield running


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy credentials only, no profile or config file; journals under tmp_path.

    Returns the environment for a child process that talks to the proxy.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


@pytest.fixture
def sandbox(fault_sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str]) -> Any:
    """The sandbox, reset and re-seeded; the proxy without faults and with an empty log."""
    fault_sandbox.reset(seed=True)
    proxy.reset()
    return fault_sandbox


@pytest.fixture(scope="session")
def wizard_session(proxy: FaultProxy) -> Any:
    """The wizard's own session, as ``--sandbox`` opens it, but pointed at the proxy."""
    from wizard.aws.session import SessionSettings, open_session

    return open_session(SessionSettings(sandbox_endpoint=proxy.url), verify=False)


@pytest.fixture
def engine(sandbox: Any, wizard_session: Any) -> Any:
    """The engine on the freshly seeded sandbox, through the proxy."""
    return engine_on(wizard_session)


# ----------------------------------------------------------------------- account state


def _optional(call: Callable[..., Any], field: str, *missing: str, **params: Any) -> Any:
    """``call(**params)[field]``, or None when the error code says there is none."""
    try:
        return call(**params)[field]
    except ClientError as err:
        if err.response["Error"]["Code"] in missing:
            return None
        raise


def account_state() -> dict[str, Any]:
    """Everything the wizard could create or change, read with plain boto3.

    Policies are the exact text the emulator returns, so comparing two states compares
    them byte for byte.
    """
    s3 = direct("s3")
    buckets: dict[str, Any] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        buckets[name] = {
            "policy": _optional(s3.get_bucket_policy, "Policy", "NoSuchBucketPolicy", Bucket=name),
            "public_access_block": _optional(
                s3.get_public_access_block,
                "PublicAccessBlockConfiguration",
                "NoSuchPublicAccessBlockConfiguration",
                Bucket=name,
            ),
            "encryption": _optional(
                s3.get_bucket_encryption,
                "ServerSideEncryptionConfiguration",
                "ServerSideEncryptionConfigurationNotFoundError",
                Bucket=name,
            ),
            "versioning": s3.get_bucket_versioning(Bucket=name).get("Status"),
        }
    state: dict[str, Any] = {"buckets": buckets}
    iam = direct("iam")
    roles: dict[str, Any] = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        trust = role["AssumeRolePolicyDocument"]
        roles[name] = {
            "trust": trust if isinstance(trust, str) else json.dumps(trust, sort_keys=True),
            "inline": iam.list_role_policies(RoleName=name)["PolicyNames"],
        }
    state["roles"] = roles
    # The regions are independent: read them side by side (the snapshot runs twice a test).
    with ThreadPoolExecutor(max_workers=len(REGIONS)) as pool:
        for part in pool.map(_region_state, REGIONS):
            state.update(part)
    return state


def _region_state(region: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    cloudtrail = direct("cloudtrail", region)
    state[f"trails/{region}"] = {
        t["TrailARN"]: cloudtrail.get_trail_status(Name=t["TrailARN"])["IsLogging"]
        for t in cloudtrail.describe_trails(includeShadowTrails=False)["trailList"]
    }
    kms = direct("kms", region)
    keys = {}
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
        keys[key["KeyId"]] = {"state": meta["KeyState"], "policy": policy}
    state[f"keys/{region}"] = keys
    state[f"aliases/{region}"] = {
        a["AliasName"]: a.get("TargetKeyId")
        for a in kms.list_aliases()["Aliases"]
        if not a["AliasName"].startswith("alias/aws/")
    }
    sns = direct("sns", region)
    state[f"topics/{region}"] = {
        t["TopicArn"]: sns.get_topic_attributes(TopicArn=t["TopicArn"])["Attributes"].get("Policy")
        for t in sns.list_topics()["Topics"]
    }
    logs = direct("logs", region)
    state[f"log-groups/{region}"] = {
        g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]
    }
    return state


def assert_same_state(before: dict[str, Any], after: dict[str, Any]) -> None:
    """``after`` equals ``before``, except for new keys, which must be pending deletion.

    KMS keys cannot be deleted at once; the shortest undo is scheduling their deletion.
    """
    for section in sorted(before.keys() | after.keys()):
        if section.startswith("keys/"):
            new = {k: v["state"] for k, v in after[section].items() if k not in before[section]}
            assert new == dict.fromkeys(new, "PendingDeletion"), f"{section}: {new}"
            kept = {k: v for k, v in after[section].items() if k in before[section]}
            assert kept == before[section], section
        else:
            assert after.get(section) == before.get(section), section


def intended_calls(state_home: Path) -> Counter[str]:
    """``service:Operation`` of every call the run's journal says it was about to send."""
    counts: Counter[str] = Counter()
    for path in (state_home / "cloudtrail-wizard" / "journal").glob("*.json"):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # not a journal (the file is replaced atomically, so never half-written)
        for entry in doc.get("entries", []):
            if entry.get("kind") == "intent" and not entry.get("rollback"):
                counts[f"{entry.get('service')}:{entry.get('operation')}"] += 1
    return counts


def kill_once_the_level_is_sent(
    proxy: FaultProxy, state_home: Path, pid: int
) -> tuple[Callable[[], None], list[bool]]:
    """A hook that kills ``pid`` once every call it has journaled as intended reached the proxy.

    Apply writes the intents of the calls it starts together to the journal before sending
    any of them. Killing the process the moment one of them arrives could leave a sibling
    written to the socket but not yet read by the proxy: it would land after ``recover`` had
    looked (a race of the test, not of the product: a person runs ``recover`` seconds
    later). Waiting for those calls to arrive removes the race and keeps the worst case
    under test: every call started, none of their answers heard.

    Returns the hook and a list that gets one bool per firing: whether the wait succeeded.
    """
    waited: list[bool] = []

    def all_arrived(arrivals: list[Any]) -> bool:
        seen = Counter(s.target for s in arrivals)
        return all(seen[t] >= n for t, n in intended_calls(state_home).items())

    def hook() -> None:
        waited.append(proxy.wait_for(all_arrived, 30, arrivals=True))
        os.kill(pid, signal.SIGKILL)

    return hook, waited

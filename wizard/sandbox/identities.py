"""Trainee identities: IAM users of the sandbox that ``--sandbox`` commands act as.

A trainer (or a lab) makes an IAM user in the sandbox with the policies an exercise is
about, AWS's managed ``AWSCloudTrail_ReadOnlyAccess`` for instance
(:func:`create_trainee_identity`); :func:`use_identity` then makes every ``--sandbox``
command of that sandbox home (the command line, the full-screen and the plain wizard) sign
its requests with the user's access key, and the sandbox refuses what the user's policies
do not allow, as AWS would (:mod:`wizard.sandbox.iam`). ``None`` is the sandbox's
administrator, the dummy credentials.

The choice lives in ``identity.json`` (0600: it holds a secret access key, of the sandbox
only) in the sandbox home :mod:`wizard.sandbox.shared` uses. This module is cheap to import:
boto3 only inside :func:`create_trainee_identity`, moto never.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ADMIN_NAME",
    "ADMIN_USER",
    "IDENTITY_FILE",
    "IdentityCredentials",
    "IdentityProblem",
    "create_trainee_identity",
    "current_identity",
    "describe_user",
    "stale_identity",
    "switch_identity",
    "use_identity",
    "user_names",
]

IDENTITY_FILE = "identity.json"
"""The file in the sandbox home that names the identity ``--sandbox`` commands act as."""

ADMIN_USER = "sandbox-admin"
"""The IAM user the dummy credentials stand for: the demo account's administrator (seeded
with AWS's ``AdministratorAccess``; see :mod:`wizard.sandbox.iam`)."""

ADMIN_NAME = "admin"
"""What ``sandbox identity`` calls the administrator (the dummy credentials)."""

_DEMO_ACCOUNT = "123456789012"
"""The demo account (:data:`wizard.sandbox.server.DEMO_ACCOUNT`, not imported: cheap module)."""


class IdentityProblem(ValueError):
    """An identity cannot be made or used; the message says why and what to do."""


@dataclass(frozen=True)
class IdentityCredentials:
    """An IAM user of the sandbox and one of its access keys."""

    access_key_id: str
    secret_access_key: str
    arn: str
    """``arn:aws:iam::ACCOUNT:user/NAME``."""
    name: str
    """The user's name."""

    @property
    def account(self) -> str:
        """The user's account id."""
        return self.arn.split(":")[4]


def use_identity(home: Path, credentials: IdentityCredentials | None) -> None:
    """Make ``--sandbox`` commands of the sandbox in ``home`` act as ``credentials``.

    Args:
        home: The sandbox home (:func:`wizard.sandbox.shared.sandbox_home`).
        credentials: The identity; None: the administrator (the file is removed).
    """
    path = home / IDENTITY_FILE
    if credentials is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = home / f".{IDENTITY_FILE}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(credentials), handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def current_identity(home: Path) -> IdentityCredentials | None:
    """The identity ``--sandbox`` commands of ``home`` act as; None: the administrator.

    An unreadable or malformed file counts as none (the administrator): it names nothing
    the sandbox could check.
    """
    try:
        fields = json.loads((home / IDENTITY_FILE).read_text(encoding="utf-8"))
        return IdentityCredentials(
            **{k: str(fields[k]) for k in IdentityCredentials.__dataclass_fields__}
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def stale_identity(credentials: IdentityCredentials | None, caller_arn: str) -> str | None:
    """Why the sandbox did not recognise the identity a session signed as, or None.

    The sandbox takes an access key it does not know for its administrator; an identity
    whose user or key is gone (the sandbox was reset, the user deleted) would silently act
    as the administrator. Compare what ``GetCallerIdentity`` answered with the identity.
    """
    if credentials is None or caller_arn == credentials.arn:
        return None
    return (
        f"The sandbox no longer knows the identity {credentials.name} (its user or access "
        "key is gone: was the sandbox reset?). `cloudtrail-wizard sandbox identity admin` "
        f"acts as the administrator again; `cloudtrail-wizard sandbox identity NAME` as "
        "another user of the sandbox (a lab makes its own again when it starts)."
    )


@functools.lru_cache(maxsize=16)
def _client(endpoint_url: str, account: str) -> Any:
    # boto3 on first use: the module stays cheap for commands that only read the file.
    # One client per sandbox and account, kept: a new session's handlers cost a lab's
    # seeding and checks a second a call on a busy machine (clients are thread-safe).
    import boto3
    import botocore.config
    import botocore.session

    from wizard.sandbox.rules import DUMMY_CREDENTIALS

    session = boto3.session.Session(
        botocore_session=botocore.session.Session(
            session_vars={"profile": (None, None, None, None)}
        ),
        aws_access_key_id=DUMMY_CREDENTIALS.access_key_id,
        aws_secret_access_key=DUMMY_CREDENTIALS.secret_access_key,
        region_name="us-east-1",
    )
    client: Any = session.client(
        "iam",
        endpoint_url=endpoint_url,
        config=botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}),
    )
    if account != _DEMO_ACCOUNT:

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
    return client


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    yield from client.get_paginator(operation).paginate(**params).search(f"{key}[]")


def create_trainee_identity(
    endpoint_url: str,
    name: str,
    *,
    managed: Sequence[str] = (),
    inline: Mapping[str, dict[str, Any]] | None = None,
    account: str = _DEMO_ACCOUNT,
) -> IdentityCredentials:
    """Create (or reset) the IAM user ``name`` in the sandbox with exactly these policies.

    The user is created when missing; otherwise its managed and inline policies and group
    memberships are replaced, and its access keys deleted. It then gets a fresh access key.

    Args:
        endpoint_url: The sandbox's URL.
        name: The user's name.
        managed: Managed policies to attach: ARNs, or names of AWS managed policies
            (``AWSCloudTrail_ReadOnlyAccess``).
        inline: Inline policies, by name.
        account: The account to make it in.

    Returns:
        The user and its new access key.

    Raises:
        IdentityProblem: the sandbox refused (an unknown managed policy, a bad name or
            document); the message says which.
    """
    # boto3's error type on first use, as the client.
    # Deferred: every --sandbox connection imports this module to read identity.json,
    # and botocore's import is only needed once IAM is called.
    from botocore.exceptions import ClientError

    iam = _client(endpoint_url, account)
    arns = [p if p.startswith("arn:") else f"arn:aws:iam::aws:policy/{p}" for p in managed]
    try:
        try:
            user = iam.get_user(UserName=name)["User"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
            user = iam.create_user(UserName=name)["User"]
        for attached in list(
            _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
        ):
            if attached["PolicyArn"] not in arns:
                iam.detach_user_policy(UserName=name, PolicyArn=attached["PolicyArn"])
        for policy in list(_pages(iam, "list_user_policies", "PolicyNames", UserName=name)):
            if policy not in (inline or {}):
                iam.delete_user_policy(UserName=name, PolicyName=policy)
        for group in list(_pages(iam, "list_groups_for_user", "Groups", UserName=name)):
            iam.remove_user_from_group(UserName=name, GroupName=group["GroupName"])
        for arn in arns:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for policy, document in (inline or {}).items():
            iam.put_user_policy(
                UserName=name, PolicyName=policy, PolicyDocument=json.dumps(document)
            )
        key = _fresh_key(iam, name)
    except ClientError as error:
        detail = error.response.get("Error", {})
        raise IdentityProblem(
            f"The sandbox refused to set up the identity {name}: {detail.get('Code')}: "
            f"{detail.get('Message')}"
        ) from None
    return IdentityCredentials(
        access_key_id=str(key["AccessKeyId"]),
        secret_access_key=str(key["SecretAccessKey"]),
        arn=str(user["Arn"]),
        name=name,
    )


def _fresh_key(iam: Any, name: str) -> Mapping[str, Any]:
    """A new access key of ``name``, its older ones deleted (IAM allows two per user)."""
    for old in list(_pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name)):
        iam.delete_access_key(UserName=name, AccessKeyId=old["AccessKeyId"])
    key: Mapping[str, Any] = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def switch_identity(endpoint_url: str, home: Path, name: str) -> IdentityCredentials:
    """Act as the existing IAM user ``name`` of the sandbox from now on (a fresh access key).

    Its policies are left as they are.

    Raises:
        IdentityProblem: there is no such user (the message lists the users there are).
    """
    # Deferred: every --sandbox connection imports this module to read identity.json,
    # and botocore's import is only needed once IAM is called.
    from botocore.exceptions import ClientError

    iam = _client(endpoint_url, _DEMO_ACCOUNT)
    try:
        user = iam.get_user(UserName=name)["User"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise IdentityProblem(f"The sandbox did not answer about {name}: {error}") from None
        users = user_names(endpoint_url)
        listing = f"The users there are: {', '.join(users)}." if users else "It has no users."
        raise IdentityProblem(
            f"There is no IAM user {name!r} in the sandbox. {listing} Create one first (a "
            f"lab does, or `aws iam create-user --user-name {name}` and `aws iam "
            "attach-user-policy` pointed at the sandbox), or use `admin` for the "
            "administrator."
        ) from None
    current = current_identity(home)
    if current is not None and current.name == name and _key_works(iam, name, current):
        return current
    key = _fresh_key(iam, name)
    credentials = IdentityCredentials(
        access_key_id=str(key["AccessKeyId"]),
        secret_access_key=str(key["SecretAccessKey"]),
        arn=str(user["Arn"]),
        name=name,
    )
    use_identity(home, credentials)
    return credentials


def _key_works(iam: Any, name: str, credentials: IdentityCredentials) -> bool:
    keys = _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name)
    return any(k["AccessKeyId"] == credentials.access_key_id for k in keys)


def user_names(endpoint_url: str) -> list[str]:
    """The names of the demo account's IAM users, sorted."""
    iam = _client(endpoint_url, _DEMO_ACCOUNT)
    return sorted(str(u["UserName"]) for u in _pages(iam, "list_users", "Users"))


def describe_user(endpoint_url: str, name: str) -> list[str]:
    """The names of the policies of the IAM user ``name``: attached managed ones, inline ones
    (marked), and its groups' (marked); empty when it has none or does not exist."""
    # Deferred: every --sandbox connection imports this module to read identity.json,
    # and botocore's import is only needed once IAM is called.
    from botocore.exceptions import ClientError

    iam = _client(endpoint_url, _DEMO_ACCOUNT)
    try:
        names = [
            p["PolicyName"]
            for p in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
        ]
        names += [
            f"{p} (inline)" for p in _pages(iam, "list_user_policies", "PolicyNames", UserName=name)
        ]
        names += [
            f"group {g['GroupName']}"
            for g in _pages(iam, "list_groups_for_user", "Groups", UserName=name)
        ]
    except ClientError:
        return []
    return names

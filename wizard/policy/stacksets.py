"""The central bucket and key statements for trails a StackSet deploys (pure).

A service-managed StackSet with automatic deployment puts the same trail into every account of
the chosen OUs, including accounts that join them later. A central policy that lists each
account (:func:`wizard.policy.policies.central_bucket_statements`) would have to be rewritten
for every new account, so these statements name the organization instead:

* ``aws:SourceOrgID``: AWS's condition key for a service principal acting for a resource of an
  organization's account (CloudTrail writing a trail's log files). ``aws:PrincipalOrgID`` does
  not work here: the principal is the CloudTrail service, which belongs to no organization.
* ``aws:SourceArn`` with ``ArnLike`` on ``arn:PARTITION:cloudtrail:*:*:trail/NAME``: only
  trails with the StackSet's trail name, in any region and account (of the organization), may
  use the bucket and key: not every trail of every account of the organization.
* The write statement covers ``[prefix/]AWSLogs/*``, where each account's trail writes under
  its own ``AWSLogs/<account>/``.

Everything else (the ACL check, ``s3:x-amz-acl``, the encryption context, the named readers)
is what the per-account statements say, so the policy evaluator and the sandbox judge both the
same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.policy.policies import CLOUDTRAIL, Statement

__all__ = [
    "organization_bucket_statements",
    "organization_key_statements",
    "organization_trail_pattern",
]


def organization_trail_pattern(partition: str, trail_name: str) -> str:
    """The ARN pattern of the StackSet's trails: every region and account, one name."""
    return f"arn:{partition}:cloudtrail:*:*:trail/{trail_name}"


def organization_bucket_statements(
    bucket_arn: str, prefix: str, organization_id: str, trail_name: str, partition: str
) -> list[Statement]:
    """The central bucket's statements for the trails of one StackSet.

    Args:
        bucket_arn: The central bucket.
        prefix: The trails' S3 key prefix ("" for none).
        organization_id: The organization whose accounts' trails may write.
        trail_name: The trail's name in every account.
        partition: ARN partition.
    """
    path = f"{prefix}/" if prefix else ""
    trails = organization_trail_pattern(partition, trail_name)
    return [
        {
            "Sid": "AWSCloudTrailAclCheckOrganization",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {
                "StringEquals": {"aws:SourceOrgID": organization_id},
                "ArnLike": {"aws:SourceArn": trails},
            },
        },
        {
            "Sid": "AWSCloudTrailWriteOrganization",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{path}AWSLogs/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceOrgID": organization_id,
                },
                "ArnLike": {"aws:SourceArn": trails},
            },
        },
    ]


def organization_key_statements(
    organization_id: str, trail_name: str, partition: str, readers: Sequence[str] = ()
) -> list[Statement]:
    """The central key's statements for the trails of one StackSet.

    CloudTrail may generate data keys for (encryption context) and on behalf of (source)
    the StackSet's trails in the organization's accounts, and describe the key; named
    readers may decrypt those trails' log files.
    """
    trails = organization_trail_pattern(partition, trail_name)
    source = {
        "StringEquals": {"aws:SourceOrgID": organization_id},
        "ArnLike": {"aws:SourceArn": trails},
    }
    statements: list[Statement] = [
        {
            "Sid": "AWSCloudTrailEncryptLogsOrganization",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                **source,
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails},
            },
        },
        {
            "Sid": "AWSCloudTrailDescribeKeyOrganization",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": dict(source),
        },
    ]
    named = sorted(set(readers))
    if named:
        statements.append(
            {
                "Sid": "AllowLogReadersDecryptOrganization",
                "Effect": "Allow",
                "Principal": {"AWS": named[0] if len(named) == 1 else named},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails},
                },
            }
        )
    return statements

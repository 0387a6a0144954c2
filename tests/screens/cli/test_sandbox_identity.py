"""``sandbox identity``: which identity ``--sandbox`` commands act as, switched in a child
process as a trainer does, and what ``--sandbox plan`` says as a trainee with AWS's
read-only managed policy for CloudTrail."""

from __future__ import annotations

import stat
from pathlib import Path

from screens.common.errors import EXIT_OK
from tests.sandbox_fixtures import stop_shared_sandboxes
from tests.screens.cli.test_shared_sandbox import EXAMPLE, cli
from wizard.sandbox.identities import create_trainee_identity
from wizard.sandbox.shared import find_sandbox

READ_ONLY = "AWSCloudTrail_ReadOnlyAccess"
SIMULATE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}],
}


def test_switching_identity_makes_the_plan_refuse_what_the_policy_lacks(tmp_path: Path) -> None:
    state = tmp_path / "state"
    home = state / "cloudtrail-wizard" / "sandbox"
    try:
        shown = cli(state, "sandbox", "identity")
        assert shown.returncode == EXIT_OK, shown.stderr
        assert "act as the sandbox's administrator" in shown.stdout
        assert "not running" in shown.stdout

        refused = cli(state, "sandbox", "identity", "reader")
        assert refused.returncode != EXIT_OK
        assert "The shared sandbox is not running" in refused.stderr

        assert cli(state, "sandbox", "start").returncode == EXIT_OK
        unknown = cli(state, "sandbox", "identity", "nobody")
        assert unknown.returncode != EXIT_OK
        assert "There is no IAM user 'nobody' in the sandbox" in unknown.stderr
        bad = cli(state, "sandbox", "identity", "no/slashes")
        assert bad.returncode != EXIT_OK and "is not an IAM user name" in bad.stderr

        found = find_sandbox(home)
        assert found is not None
        create_trainee_identity(
            found.endpoint_url, "reader", managed=[READ_ONLY], inline={"simulate": SIMULATE}
        )
        switched = cli(state, "sandbox", "identity", "reader")
        assert switched.returncode == EXIT_OK, switched.stderr
        assert "act as reader (arn:aws:iam::123456789012:user/reader)" in switched.stdout
        assert f"{READ_ONLY}, simulate (inline)" in switched.stdout
        assert stat.S_IMODE((home / "identity.json").stat().st_mode) == 0o600

        plan = cli(state, "--sandbox", "plan", EXAMPLE)
        assert "[operator-permissions]" in plan.stdout, plan.stdout + plan.stderr
        assert "arn:aws:iam::123456789012:user/reader is not allowed" in plan.stdout
        for action in ("cloudtrail:CreateTrail", "cloudtrail:StartLogging", "s3:CreateBucket"):
            assert f"- {action} on " in plan.stdout
        assert "cloudtrail:DescribeTrails on" not in plan.stdout  # the policy allows it
        assert "Apply is blocked" in plan.stdout

        back = cli(state, "sandbox", "identity", "admin")
        assert back.returncode == EXIT_OK
        assert not (home / "identity.json").exists()
        plan = cli(state, "--sandbox", "plan", EXAMPLE)
        assert plan.returncode == EXIT_OK, plan.stderr[-2000:]
        assert "operator-permissions" not in plan.stdout
    finally:
        stop_shared_sandboxes(tmp_path)

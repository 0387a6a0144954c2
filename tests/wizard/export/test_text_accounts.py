"""A plan step made in another account renders with that account's profile, checked first."""

from __future__ import annotations

import subprocess
from pathlib import Path

from wizard.export.text import plan_to_cli
from wizard.model.plan import Call, Plan, Step

LOG_ACCOUNT = "999999999999"


def _plan() -> Plan:
    central = Call(
        service="s3",
        region="us-east-1",
        operation="PutBucketPolicy",
        params={"Bucket": "central-logs", "Policy": '{"Version": "2012-10-17", "Statement": []}'},
        account=LOG_ACCOUNT,
    )
    return Plan(
        account_id="111111111111",
        partition="aws",
        home_region="us-east-1",
        trail_arn="arn:aws:cloudtrail:us-east-1:111111111111:trail/acme",
        steps=[
            Step(id="update-central-policy", call=central, summary="merge", chain="bucket"),
            Step(
                id="start-logging",
                call=Call(
                    service="cloudtrail",
                    region="us-east-1",
                    operation="StartLogging",
                    params={"Name": "acme"},
                ),
                summary="start",
                chain="trail",
            ),
        ],
    )


def test_other_account_steps_use_their_profile_and_are_checked(tmp_path: Path) -> None:
    script = plan_to_cli(_plan())
    lines = script.splitlines()
    central = next(line for line in lines if "put-bucket-policy" in line and "#" not in line)
    assert f'--profile "$PROFILE_{LOG_ACCOUNT}"' in central
    start = next(line for line in lines if "start-logging" in line and "#" not in line)
    assert "--profile" not in start  # the main account's steps use the main credentials
    assert f': "${{PROFILE_{LOG_ACCOUNT}:?' in script  # refuses to run without the profile
    assert f"!= {LOG_ACCOUNT} ]" in script  # and checks it is really that account
    path = tmp_path / "plan.sh"
    path.write_text(script, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0

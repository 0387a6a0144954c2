"""``plan``: discovery, preflight and the plan; changes nothing.

Exit 0 when the plan can be applied, 2 when an error finding blocks it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from screens.common.answers import load_one
from screens.common.central import (
    add_central_options,
    central_engine,
    organization_finding,
    write_handoff,
)
from screens.common.connection import (
    collector_paused,
    connect,
    prepare_meanwhile,
    start_worker,
)
from screens.common.errors import EXIT_INVALID, EXIT_OK
from screens.common.reporting import report_aws_failure
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.aws.worker import WorkerSession


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers file, the output format and the central-logging options."""
    parser.description = (
        "Discovery + preflight + plan. Changes nothing. Exit 0 when the plan can be applied, "
        "2 when an error finding blocks it."
    )
    parser.add_argument("answers", metavar="ANSWERS")
    parser.add_argument("--output", choices=("text", "json", "cli"), default="text")
    add_central_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Plan read-only (the AWS worker opening the session meanwhile, where it pays)."""
    with collector_paused():
        worker = start_worker(args, read_only=True)
        try:
            return _plan(args, out, worker)
        finally:
            if worker is not None:
                worker.close()


def _plan(args: argparse.Namespace, out: TextIO, worker: WorkerSession | None) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.text import plan_to_cli, plan_to_json, plan_to_text

    path, answers = load_one(args.answers)
    prepare_meanwhile(worker, answers)
    with connect(args, read_only=True, worker=worker) as conn:
        try:
            engine = central_engine(conn, args, answers, read_only=True)
            plan, _found = engine.plan(answers)
        except AwsError as err:
            return report_aws_failure(err)
        if not answers.trail.organization:
            suggestion = organization_finding(conn.session.caller, engine.ctx)
            if suggestion is not None:
                plan = plan.model_copy(update={"findings": [*plan.findings, suggestion]})
        if args.output == "json":
            out.write(json.dumps(plan_to_json(plan), indent=2) + "\n")
        elif args.output == "cli":
            out.write(plan_to_cli(plan))
        else:
            out.write(plan_to_text(plan))
    if args.handoff_out:
        write_handoff(plan, args.handoff_out, path, sys.stderr if args.output != "text" else out)
    return EXIT_INVALID if plan.blocked else EXIT_OK

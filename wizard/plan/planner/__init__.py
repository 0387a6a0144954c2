"""The planner: answers + account facts -> ordered, undoable steps (pure).

The plan is made of four independent chains (bucket, key, topic, logs) and the trail chain
that depends on all of them; server access logging of the log bucket comes last. New
resources are created where they must be: the key in the bucket's region, the topic, log
group and role beside the trail. Policies of existing resources are merged (see
:mod:`wizard.plan.review`), never replaced, and every step says how it is undone.

One module per resource chain (:mod:`.key`, :mod:`.bucket`, :mod:`.topic`, :mod:`.logs`,
:mod:`.trail`, :mod:`.access_logs`), the pieces they share in :mod:`.builder`, and
:func:`build_plan`, which runs them in order, in :mod:`.build`.

May import: ``wizard.plan`` (preflight, review, central), ``wizard.account``,
``wizard.policy``, ``wizard.model``.
"""

from wizard.plan.planner.build import build_plan
from wizard.plan.planner.builder import creation_tags, readable_diff
from wizard.plan.planner.logs import ROLE_POLICY_NAME
from wizard.plan.planner.trail import PROPAGATION_ERRORS

__all__ = [
    "PROPAGATION_ERRORS",
    "ROLE_POLICY_NAME",
    "build_plan",
    "creation_tags",
    "readable_diff",
]

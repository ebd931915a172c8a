"""The check kinds rule packs configure (as in Vale), one module per family.

Each kind is a function registered in `CHECKS` with a frozen params model (`check_kind` in
`base.py`); `Rule` validates a rule's params against its kind's model, the engine calls
`CHECKS[rule.check].evaluate(ctx, rule)`, and the packs README table and `rules show` are generated
from the registry (`docs.py`). Importing this package registers every family; the registry (and so
the README table and the schema's list of kinds) is in `FAMILIES` order.
"""

from __future__ import annotations

from complianceguard.packs.kinds import frames, label, placement, platform, speech, timing  # noqa: F401  (registers)
from complianceguard.packs.kinds.base import (CHECKS, CheckKind, CheckParams, Context, Outcome, evidence_of,
                                              params_problem, quoted, unless_possibly_said)

FAMILIES = ("label", "placement", "platform", "timing", "speech", "frames")
_ordered = sorted(CHECKS.values(), key=lambda kind: FAMILIES.index(kind.family))  # stable: module order within
CHECKS.clear()
CHECKS.update((kind.name, kind) for kind in _ordered)

__all__ = ["CHECKS", "FAMILIES", "CheckKind", "CheckParams", "Context", "Outcome", "evidence_of", "params_problem",
           "quoted", "unless_possibly_said"]

"""govflow's process engine: pure Python, no Django, Celery or Redis.

    definition = load_definition(yaml_text, departments=..., handlers=...)
    result = step(definition, state, CompleteTask(task_id, "approve"), now)

See docs/process-language.md for the language and docs/architecture.md for
the token model.
"""

from .definition import Definition, Node
from .loader import check_definition, load_definition, load_definition_file
from .problems import EngineError, IllegalEvent, InvalidDefinition, NoBranchMatched, Problem
from .runtime import (
    CompleteTask,
    FireTimer,
    ServiceDone,
    Start,
    StepResult,
    SubmitCorrection,
    Withdraw,
    step,
)
from .state import dump_state, load_state

__all__ = [
    "CompleteTask",
    "Definition",
    "EngineError",
    "FireTimer",
    "IllegalEvent",
    "InvalidDefinition",
    "NoBranchMatched",
    "Node",
    "Problem",
    "ServiceDone",
    "Start",
    "StepResult",
    "SubmitCorrection",
    "Withdraw",
    "check_definition",
    "dump_state",
    "load_definition",
    "load_definition_file",
    "load_state",
    "step",
]

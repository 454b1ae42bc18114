"""The operations on a task besides claiming and deciding it, one module
each (docs/extending.md, "How to add a task operation"): 退回 `returns`,
撤回/拿回 `take_back`, 转办 `transfer`, 加签/减签 `signers`. Each service
owns its transaction, locks the case, checks who may act, runs the engine
through the bridge and stages its audit and domain events."""

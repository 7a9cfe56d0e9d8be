"""The one output format of every benchmark: a JSON object per line."""

import json


def report(name: str, value: float, unit: str, target: float | None = None, higher_is_better: bool = True) -> dict:
    """Print `{"name", "value", "unit", "target", "meets"}` as one line and return it; `target` and `meets` are `null`
    for figures without a target."""
    meets = None if target is None else (value >= target if higher_is_better else value <= target)
    line = {"name": name, "value": round(value, 3), "unit": unit, "target": target, "meets": meets}
    print(json.dumps(line), flush=True)
    return line

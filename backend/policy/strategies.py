"""Recommended approach for a case (the seed playbook's eight strategies).

Interface (stable; [playbook] fills it in):
    recommend(case, locale="zh-CN") -> dict  # {"strategies": [{"key", "reason", "scripts": [...]}], "placeholder": bool}
"""


def recommend(case, locale: str = "zh-CN") -> dict:
    return {
        "placeholder": True,
        "strategies": [
            {
                "key": "empathy",
                "reason": "Default until the strategy engine lands",
                "scripts": [],
            }
        ],
    }

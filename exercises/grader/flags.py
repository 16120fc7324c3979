"""Advisory flags for the teacher: code in a submission worth a look. They never change a score.

Scores do not depend on anything the student's code can reach (the checks run in the grader),
so these patterns are only pointers for a human: code that patches libraries or the shell,
reaches for files or processes, or calls a flowkit reference implementation in an exercise that
asks the learner to write their own.
"""

from __future__ import annotations

import re

__all__ = ["flags_for"]

PATTERNS = [
    (r"\b(torch|fk|flowkit|np|numpy|math)\.[\w.]+\s*=(?!=)|\bsetattr\s*\(", "monkeypatches a library"),
    (r"\b__builtins__\b|\bimport\s+builtins\b|\bbuiltins\.", "touches builtins"),
    (r"\bsys\.modules\b|\bimportlib\b|__import__", "edits or bypasses the import system"),
    (r"\bos\._exit\b|\bsys\.exit\b|\bos\.kill\b|\bsignal\.|\bos\.fork\b|\bsubprocess\b|\bos\.system\b",
     "exits, signals or starts processes"),
    (r"except\s*(\(\s*)?(KeyboardInterrupt|BaseException|SystemExit)|except\s*:", "swallows interrupts"),
    (r"\bget_ipython\b|\binput_transformers|\bast_transformers\b|\bevents\.register\b|\bsys\.settrace\b",
     "hooks the interpreter or the IPython shell"),
    (r"\bopen\s*\(|\bos\.(listdir|scandir|walk)\b|/proc/|\bshutil\b|\bsocket\b|\bctypes\b", "reads or writes files or sockets"),
    (r"\beval\s*\(|\bexec\s*\(|\bcompile\s*\(", "dynamic code"),
]
# exercises that ask for the learner's own implementation of something flowkit has
# (assignment, solution cell or None for any) -> pattern
REFERENCE = {
    ("01_fundamentals", None): r"\bfk\.Affine\b",
    ("02_planar", None): r"\bfk\.Planar\b|\bflowkit\.planar\b",
    ("03_coupling", "ex1-solution"): r"\bslogdet\b|\bdet\s*\(|\blogdet\b",
    ("03_coupling", "ex2-solution"): r"\bfk\.(AffineCoupling|Coupling)\b",
    ("04_realnvp", None): r"\bfk\.image\.(Logit|bits_per_dim)\b|\bflowkit\.image\.logit\b",
    ("05_glow", None): r"\bfk\.image\.ActNorm\b|\bslogdet\b|\bdet\s*\(|\blogdet\b",
    ("06_evaluation", None): r"\bfk\.metrics\.(auroc|mmd)\s*\(",
    ("07_at_work", None): r"\b(fk|flowkit)\.metrics\.free_energy_difference\b",
}


def flags_for(assignment: str, cells: list[tuple[str, str]]) -> list[str]:
    """Reasons to look at ``cells`` = [(label, source)] of the student's own code."""
    reasons: list[str] = []
    for label, src in cells:
        code = "\n".join(line.split("#", 1)[0] for line in src.splitlines())
        found = [reason for pattern, reason in PATTERNS if re.search(pattern, code)]
        for (a, cell), pattern in REFERENCE.items():
            if a == assignment and cell in (None, label) and re.search(pattern, code):
                found.append("uses a flowkit reference implementation or a determinant routine")
        for reason in found:
            item = f"{reason} [{label}]"
            if item not in reasons:
                reasons.append(item)
    return reasons

"""Grade one submitted notebook: run its plan in a fresh sandboxed kernel, check at each test cell.

The score is computed here, in the grader's process, from :class:`~flowkit.course.checks.Outcome`
values; the kernel only ever answers requests with plain data. A cell that runs past its time
limit is interrupted; if it ignores the interrupt, or the kernel dies, the sandbox is killed,
a fresh one is started, the cells that had completed are run again (outputs discarded), and
grading goes on with the next cell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flowkit.course.checks import Outcome, exercises, fresh_seed, run_check

from .channel import KernelStudent
from .hidden import hidden_checks
from .kernel import KernelDied, KernelTimeout, SandboxKernel
from .outputs import Budget, OutputSink
from .plan import Plan, Step

__all__ = ["Options", "Graded", "CheckResult", "grade_plan"]


@dataclass
class Options:
    cell_timeout: float = 60.0            # a student's cell
    given_timeout: float = 300.0          # a given cell (imports, the training run of 03)
    call_timeout: float = 60.0            # one call of a check into the student's code
    check_timeout: float = 240.0          # all the calls of one test cell's checks together
    submission_timeout: float = 900.0
    max_restarts: int = 3


@dataclass
class CheckResult:
    grade_id: str
    points: float
    max_points: float
    outcomes: list[Outcome]
    seed: int

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes) and bool(self.outcomes)


@dataclass
class Graded:
    steps: list[tuple[Step, list[dict]]] = field(default_factory=list)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Runner:
    def __init__(self, assignment: str, plan: Plan, new_kernel, options: Options) -> None:
        self.assignment, self.plan, self.new_kernel, self.options = assignment, plan, new_kernel, options
        self.result = Graded(notes=list(plan.notes))
        self.budget = Budget()
        self.ran: list[str] = []         # sources of the cells that completed, replayed after a restart
        self.restarts = 0
        self.kernel: SandboxKernel | None = None
        self.deadline = time.monotonic() + options.submission_timeout
        self.public = exercises()
        self.hidden = hidden_checks()

    # ------------------------------------------------------------------------------ kernel
    def _start(self) -> None:
        self.kernel = self.new_kernel()
        try:
            self.kernel.start()
        except BaseException:
            self.result.notes += self.kernel.stop()      # kill what was started
            raise

    def _restart(self, why: str) -> None:
        self.restarts += 1
        self.result.notes.append(f"kernel restarted: {why}")
        self.result.notes += self.kernel.stop()
        if self.restarts > self.options.max_restarts:
            self.kernel = None
            return
        try:
            self._start()
        except (KernelDied, KernelTimeout) as e:
            self.result.notes.append(f"the kernel could not be restarted: {e}")
            self.kernel = None
            return
        for source in self.ran:
            try:
                self.kernel.execute(source, self.options.given_timeout)
            except (KernelTimeout, KernelDied):
                self.result.notes.append("replay after a restart stopped early")
                self.result.notes += self.kernel.stop()
                self.kernel = None
                return

    # ------------------------------------------------------------------------------ steps
    def _code(self, step: Step) -> list[dict]:
        sink = OutputSink(self.budget)
        if self.kernel is None or time.monotonic() > self.deadline:
            sink.add_error("NotExecuted", "not run: too many kernel restarts or the submission's time limit")
            return sink.outputs
        limit = self.options.given_timeout if step.origin == "given" else self.options.cell_timeout
        timeout = min(limit, max(1.0, self.deadline - time.monotonic()))
        try:
            status, _ = self.kernel.execute(step.source, timeout, sink)
            self.ran.append(step.source)
        except KernelTimeout:
            if self.kernel.interrupt():
                sink.add_error("CellTimeoutError", f"this cell ran past the {timeout:.0f} s limit and was interrupted")
                self.result.notes.append(f"CellTimeoutError [{step.label}]")
            else:
                sink.add_error("CellTimeoutError", f"this cell ran past the {timeout:.0f} s limit and did not stop "
                               "when interrupted: the kernel was killed and restarted, the cells before it were "
                               "run again, and grading went on")
                self.result.notes.append(f"CellTimeoutError [{step.label}]")
                self._restart(f"[{step.label}] could not be interrupted")
        except KernelDied:
            sink.add_error("DeadKernelError", "the kernel died while running this cell; it was restarted, the "
                           "cells before this one were run again, and grading went on")
            self.result.notes.append(f"DeadKernelError [{step.label}]")
            self._restart(f"[{step.label}] killed the kernel")
        if sink.truncated:
            self.result.notes.append(f"output truncated [{step.label}]")
        return sink.outputs

    def _check(self, step: Step) -> None:
        ex = self.public.get(f"{self.assignment}/{step.label}")
        max_points = ex.points if ex else 0.0
        seed = fresh_seed()
        if ex is None:
            outcomes = [Outcome(False, "no check is registered for this test cell (grader set-up)", "internal")]
        elif self.kernel is None or time.monotonic() > self.deadline:
            outcomes = [Outcome(False, "not checked: too many kernel restarts or the submission's time limit", "channel")]
        else:
            student = KernelStudent(self.kernel, self.options.call_timeout,
                                    min(self.options.check_timeout, max(1.0, self.deadline - time.monotonic())))
            outcomes = []
            for i, check in enumerate([ex.check, *self.hidden.get(ex.id, [])]):
                outcomes.append(run_check(check, student, seed + i))
                if not outcomes[-1].passed or student.broken:
                    break            # the first failure is the feedback; a broken kernel ends the checks
            if student.broken:
                self._restart(f"while checking [{step.label}]: {student.broken}")
        passed = bool(outcomes) and all(o.passed for o in outcomes)
        self.result.checks[step.label] = CheckResult(step.label, max_points if passed else 0.0, max_points,
                                                     outcomes, seed)

    def run(self) -> Graded:
        try:
            self._start()
        except (KernelDied, KernelTimeout) as e:
            self.result.notes.append(f"the kernel could not start: {e}")
            self.kernel = None
        try:
            for step in self.plan.steps:
                if step.kind == "code":
                    self.result.steps.append((step, self._code(step)))
                elif step.kind == "check":
                    self._check(step)
                    self.result.steps.append((step, []))
                else:
                    self.result.steps.append((step, []))
        finally:
            if self.kernel is not None:
                self.result.notes += self.kernel.stop()
        if self.budget.dropped:
            self.result.notes.append(f"{self.budget.dropped} bytes of output dropped (over the cap)")
        return self.result


def grade_plan(assignment: str, plan: Plan, new_kernel, options: Options) -> Graded:
    """Run ``plan`` in kernels made by ``new_kernel()`` and check it; never raises for student code."""
    return _Runner(assignment, plan, new_kernel, options).run()

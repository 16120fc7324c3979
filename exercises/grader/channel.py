"""The grader's transport of the :class:`~flowkit.course.checks.Student` protocol.

A request (JSON text, data only) is sent to the sandboxed kernel as one line of code that hands
it to :func:`flowkit.course.checks.agent.serve`; the reply comes back as display data tagged with
a per-request nonce and is parsed and validated on this side. Nothing the kernel sends is ever
executed or unpickled here: the worst a hostile kernel can do is answer wrongly, time out, or
die, and each of those fails the check.
"""

from __future__ import annotations

import secrets
import time

from flowkit.course.checks import ChannelError, Student

from .kernel import KernelDied, KernelTimeout, SandboxKernel

__all__ = ["KernelStudent"]

AGENT = "__import__('flowkit.course.checks.agent', fromlist=['serve']).serve(globals(), {text!r}, {nonce!r})"


class KernelStudent(Student):
    """Requests go to ``kernel``; each waits at most ``call_timeout`` s, all of them ``budget`` s."""

    def __init__(self, kernel: SandboxKernel, call_timeout: float, budget: float) -> None:
        self.kernel, self.call_timeout = kernel, call_timeout
        self.deadline = time.monotonic() + budget
        self.broken: str | None = None       # why the kernel must be restarted, if it must

    def _transport(self, request_text: str) -> str:
        if self.broken:
            raise ChannelError(self.broken)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ChannelError("the check ran out of time (your code is too slow)")
        nonce = secrets.token_hex(12)
        code = AGENT.format(text=request_text, nonce=nonce)
        try:
            _, reply = self.kernel.execute(code, min(self.call_timeout, left), silent=True, nonce=nonce)
        except KernelTimeout:
            if not self.kernel.interrupt():
                self.broken = "your code did not answer in time and could not be interrupted"
            raise ChannelError(f"your code did not answer within {min(self.call_timeout, left):.0f} s") from None
        except KernelDied:
            self.broken = "the kernel died while the check ran your code"
            raise ChannelError(self.broken) from None
        if reply is None:
            raise ChannelError("no answer came back from your code")
        return reply

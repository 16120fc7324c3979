"""nbgrader extensions for the flowkit course (imported by ``exercises/nbgrader_config.py``).

:class:`RobustExecute` replaces nbgrader's ``Execute`` preprocessor in ``nbgrader autograde``.
nbgrader's own one gives up on a whole submission when the kernel dies (``os._exit``, a crash)
or when a cell ignores the interrupt sent at its timeout (a loop that catches
``KeyboardInterrupt``): the notebook is then removed and nothing is graded. Here such a cell gets
an error output (so it scores 0 if it is a test cell), the kernel is killed and restarted, the
cells that ran before it are re-run (outputs discarded) so that the student's definitions exist
again, and grading goes on with the next cell.
"""

from __future__ import annotations

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

__all__ = ["RobustExecute", "ShortTracebacks"]


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class RobustExecute(Execute):
    """``Execute`` that survives dead and unstoppable kernels (see the module docstring)."""

    max_restarts = Integer(5, help="Kernel restarts allowed per notebook; later cells are not run.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._ran: list[str] = []  # sources of the code cells that completed, for a replay
        self._restarts = 0
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._restarts > self.max_restarts:
            cell.outputs = [_error("NotExecuted", f"not run: the kernel was restarted {self._restarts} times")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "DeadKernelError", "the kernel died while running this cell; it was restarted, the "
                "cells before this one were run again, and grading went on")]
            self._restart()
        except (CellTimeoutError, TimeoutError):
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "CellTimeoutError", f"this cell ran past the {self.timeout} s limit and did not stop when "
                "interrupted; the kernel was killed and restarted, the cells before this one were run "
                "again, and grading went on")]
            self._restart()
        else:
            self._ran.append(cell.source)
        return cell, resources

    def _restart(self) -> None:
        self._restarts += 1
        self.log.warning("restarting the kernel (%d)", self._restarts)
        run_sync(self.km.restart_kernel)(now=True)   # SIGKILL to the kernel's process group, then start
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001 - the old channels may already be gone
            pass
        run_sync(self.async_start_new_kernel_client)()
        for source in self._ran:
            try:
                reply = run_sync(self.kc.execute_interactive)(
                    source, timeout=self.timeout, output_hook=lambda msg: None, store_history=False)
            except Exception as e:  # noqa: BLE001 - a replay that hangs or dies: stop replaying
                self.log.warning("replay stopped: %s", e)
                break
            if reply["content"].get("status") != "ok":
                continue


class ShortTracebacks(Preprocessor):
    """For feedback: error outputs show ``ename: evalue`` only, not the traceback.

    IPython's tracebacks quote the source lines around the failing line, which for a failing
    hidden test would show the hidden test's code in the feedback. The assertion messages
    (the visible tests' hints) are kept.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"\x1b[0;31m{out.get('ename', 'Error')}\x1b[0m: {out.get('evalue', '')}"]
        return cell, resources

"""nbgrader configuration of the flowkit exercises (``exercises/`` is the course directory).

Commands run from this folder (with the course venv's bin/ on PATH: nbgrader calls ``alembic``)::

    nbgrader generate_assignment 01_fundamentals   # source/ -> release/ (student version)
    nbgrader autograde 01_fundamentals             # submitted/ -> autograded/ + gradebook.db
    nbgrader generate_feedback 01_fundamentals     # autograded/ -> feedback/ (HTML)

``make grade SUBMISSIONS=folder`` (``tools/grade.py``) does the last two on a private copy of
this folder, with the student code in a sandboxed kernel; see README.md.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tools"))

from grading import RobustExecute, ShortTracebacks  # noqa: E402
from nbconvert.preprocessors import (  # noqa: E402
    ClearMetadataPreprocessor,
    CSSHTMLHeaderPreprocessor,
)
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "flowkit"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# solutions and hidden tests: the markers the source notebooks use
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.ClearOutput.enabled = True

# autograding: restore every locked/test cell from the source, even deleted ones
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = int(os.environ.get("FLOWKIT_CELL_TIMEOUT", "60"))  # seconds per cell
c.Execute.startup_timeout = 120
c.Execute.iopub_timeout = 4
c.Autograde.autograde_preprocessors = [
    RobustExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata]
# tools/grade.py runs the student code in its sandboxed kernel (see tools/sandbox_kernel.py)
if os.environ.get("FLOWKIT_GRADE_KERNEL"):
    c.RobustExecute.kernel_name = os.environ["FLOWKIT_GRADE_KERNEL"]
c.RobustExecute.timeout = c.Execute.timeout

# feedback: scores and outputs, but not the source of the hidden tests
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, ShortTracebacks]

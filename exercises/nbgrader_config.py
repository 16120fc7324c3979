"""nbgrader configuration of the flowkit exercises (``exercises/`` is the course directory).

Commands run from this folder (with the course venv's bin/ on PATH: nbgrader calls ``alembic``)::

    nbgrader generate_assignment 01_fundamentals   # source/ -> release/ (student version)
    nbgrader autograde 01_fundamentals             # submitted/ -> autograded/ + gradebook.db
    nbgrader generate_feedback 01_fundamentals     # autograded/ -> feedback/ (HTML)

Scores: use ``make grade SUBMISSIONS=folder`` (``tools/grade.py``). It runs each submission in a
bubblewrap sandbox and computes every verdict in the grader's own process (the checks of
``flowkit.course.checks`` plus the hidden ones in ``hidden_checks/``); it writes the scores into
this course's gradebook. ``nbgrader autograde`` would only run the learner-side check cells in
the student's own kernel and score them by nbgrader's rules: do not use it for grades.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

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


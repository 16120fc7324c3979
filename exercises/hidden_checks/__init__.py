"""Hidden checks of the course exercises (grader only: never bound into a sandbox, never shown).

Each module registers checks with :func:`grader.hidden.hidden` for a public exercise id; a test
cell scores its points only if the public check and every hidden check of it pass.
"""

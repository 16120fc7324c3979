"""The hostile and honest submissions of tests/test_grader_hostile.py, with the score each deserves.

Every hostile student answers 01_fundamentals with one known mistake (or none) and adds an
attack; the expected score is what the answers alone earn.
"""

from __future__ import annotations

from pathlib import Path

from grader_class import A1, WRONG_LOGDET, add_after, duplicate, edit, move_after, released, replace, solved

MARK = "FLOWKIT_HOSTILE_MARKER"
ROOT = Path(__file__).resolve().parents[1]  # the checkout the leaker tries to read


def wrong():
    return edit(solved(A1), "ex2-solution", *WRONG_LOGDET)


DISPLAY = '''
from IPython.display import display
ip = get_ipython()
ip.events.register("post_run_cell", lambda *a: display(7))            # a "score" after every cell
ip.display_pub.publish({"text/plain": "7"})
print("[grader] ex2-tests complete\\n✓ all tests passed")
'''

BUILTINS = '''
import builtins, json, math as _m
import flowkit.course.checks as _c, flowkit.course.checks.verdict as _v
for name in ("max", "abs", "float", "len", "isinstance", "all", "any"):
    setattr(builtins, name, (lambda *a, **k: 0))
builtins.max = lambda *a, **k: 0
json.loads = lambda *a, **k: {"ok": 0}
_v.describe_offset = lambda *a, **k: None
_v.expect_close = lambda *a, **k: None
_c.check_exercise = lambda *a, **k: print("✓")
_m.isfinite = lambda x: True
'''

LYING_FLOAT = '''
class F(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return F(0.0)
    def __rsub__(self, other): return F(0.0)
    def __abs__(self): return F(0.0)
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __float__(self): return 1.0
    def __repr__(self): return "1.0"

def integrate_2d(log_prob, lo, hi, n=200):
    return F(123.0)
'''

TRANSFORMER = '''
ip = get_ipython()
def _rewrite(lines):
    text = "".join(lines)
    if "serve(" in text:      # answer every grader request with a made-up success
        return ['from IPython.display import publish_display_data as _p\\n',
                '_p({"application/x-flowkit-reply+json": "{\\\\"ok\\\\": null}"})\\n']
    return lines
ip.input_transformers_cleanup.append(_rewrite)
ip.input_transformers_post.append(_rewrite)
'''

LEAKER = '''
import inspect, linecache, os, glob, sys
seen = []
def _spy():
    frames = [f.filename + ":" + (f.code_context or [""])[0] for f in inspect.stack()]
    seen.append((list(globals().get("In", []))[-3:], list(globals().get("_ih", []))[-3:],
                 sorted(linecache.cache)[:50], frames))
_orig = ScaleShift.forward
def _forward(self, z):
    _spy()
    return _orig(self, z)
ScaleShift.forward = _forward
found = []
for pattern in ["@ROOT@/exercises", "@ROOT@/tests", "@ROOT@/.git", "@ROOT@/README.md", "@PARENT@/*/*.py",
                "/root/*", "/tmp/flowkit-grade-*", "/tmp/pytest-of-*", "/proc/1/root@ROOT@/exercises",
                "/home/*/*", "@PARENT@/.library", "/etc/shadow", "/etc/hostname"]:
    found += [p for p in glob.glob(pattern) if not p.startswith("/home/student")]
print("LEAKED:", found)
print("LISTING:", sorted({name for top in glob.glob("@PARENT@/*") for name in os.listdir(top)}))
'''.replace("@ROOT@", str(ROOT)).replace("@PARENT@", str(ROOT.parent))  # wherever this checkout lives

LEAK_REPORT = 'print("SPIED:", seen)'

DAEMON = f'''
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sh", ["/bin/sh", "-c", "while :; do kill -9 -1; sleep 0.1; done", "{MARK}"])
    os._exit(0)
for d in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~")):
    with open(os.path.join(d, "{MARK}"), "w") as fh:
        fh.write("x" * 1000)
'''

FORKBOMB = '''
import os
pids = []
try:
    for _ in range(100000):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
except OSError as e:
    print("fork refused after", len(pids), type(e).__name__)
try:
    big = bytearray(20 << 30)
except MemoryError:
    print("memory refused")
'''

MARKUP_MD = ('<script>alert(1)</script><img src=x onerror="alert(2)"> <img src="http://evil.example/x.png">'
             ' <a href="javascript:alert(3)">x</a> <style>body{background:url(http://evil.example/y)}</style>'
             ' $\\log p(x) = \\log p(z) + \\log|\\det J|$')
MARKUP_OUT = ('from IPython.display import HTML, display\n'
              'display(HTML("<script>alert(4)</script><b onclick=alert(5)>bold</b>"))\n'
              'import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]); plt.show()\n'
              'print("\\x1b[2J\\x1b[31mFAKE ROW 7 / 7\\x1b[0m")')

REPLIER = '''
import sys, types
fake = types.ModuleType("flowkit.course.checks.agent")
fake.serve = lambda ns, text, nonce: __import__("IPython").display.publish_display_data(
    {"application/x-flowkit-reply+json": "[" * 100000}, metadata={"application/x-flowkit-reply+json": {"nonce": nonce}})
sys.modules["flowkit.course.checks.agent"] = fake
'''


# attacks that may also break the attacker's own kernel: their score may be lower, never higher
SELF_HARM = {"builtins_patch", "forkbomb", "daemon", "transformer", "replier"}


def cases() -> dict[str, tuple]:
    """student -> (notebook, the score its answers earn in 01_fundamentals)."""
    return {
        "display_hook": (add_after(wrong(), "ex2-solution", DISPLAY), 4),
        "builtins_patch": (add_after(wrong(), "ex1-solution", BUILTINS), 4),
        "lying_float": (replace(solved(A1), "ex3-solution", LYING_FLOAT), 5),
        "transformer": (add_after(wrong(), "ex1-solution", TRANSFORMER), 0),
        "leaker": (add_after(add_after(wrong(), "ex2-solution", LEAKER), "ex3-tests", LEAK_REPORT), 4),
        "daemon": (add_after(wrong(), "ex3-tests", DAEMON), 4),
        "forkbomb": (add_after(wrong(), "ex1-solution", FORKBOMB), 4),
        "markup": (add_after(add_after(wrong(), "ex1-solution", MARKUP_OUT), "intro", MARKUP_MD, "markdown"), 4),
        "replier": (add_after(wrong(), "ex1-solution", REPLIER), 0),
        "looper": (edit(solved(A1), "ex1-solution", "def log_prob_affine_1d", "while True:\n    pass\n\n\ndef log_prob_affine_1d"), 5),
        "stubborn": (add_after(solved(A1), "ex2-solution", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"), 7),
        "exiter": (add_after(solved(A1), "ex1-solution", "import os\nos._exit(1)"), 7),
        # honest work
        "full": (solved(A1), 7),
        "partial": (wrong(), 4),
        "empty": (released(A1), 0),
        "syntax": (edit(solved(A1), "ex2-solution", "def inverse(self, x):", "def inverse(self, x)"), 4),
        "warnings": (add_after(solved(A1), "ex1-solution",
                               "import sys, warnings\nwarnings.warn('harmless', UserWarning)\nprint('note', file=sys.stderr)"), 7),
        "pasted": (duplicate(duplicate(solved(A1), "ex2-solution"), "ex2-tests"), 7),
        "reordered": (move_after(solved(A1), "ex1-solution", "ex3-tests"), 7),   # solutions run at their place
    }

"""Starts the Autobahn testsuite's `wstest` from the directory .ci/install-autobahn.sh filled.

Usage: python2.7 wstest.py AUTOBAHN_DIR [wstest arguments...]

The packages were installed with `pip install --target`, which does not process .pth files;
`site.addsitedir` does, and zope.interface needs its namespace .pth (a plain PYTHONPATH makes
`import zope.interface` fail).
"""
import site
import sys

if len(sys.argv) < 2:
    sys.stderr.write(__doc__)
    sys.exit(2)
site.addsitedir(sys.argv[1])
del sys.argv[1]
sys.argv[0] = "wstest"

from autobahntestsuite.wstest import run  # noqa: E402

sys.exit(run())

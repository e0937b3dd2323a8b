"""``python -m sibsim`` runs the command line."""

import sys

from sibsim.cli import main

sys.exit(main())

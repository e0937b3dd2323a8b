"""``python -m sibsim`` runs the command line."""

from sibsim.cli import console_main

console_main()

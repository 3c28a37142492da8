"""`python -m webui.cli`: the same as the `auditarchive` command."""
from webui.cli import main

main()

"""`python -m infermeter` is the same as the `infermeter` command."""

from infermeter.cli import main

raise SystemExit(main())

from downbeat.cli import main

raise SystemExit(main())

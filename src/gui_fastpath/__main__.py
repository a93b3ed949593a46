from gui_fastpath.cli import main

raise SystemExit(main())

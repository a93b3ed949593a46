"""``python -m fastpath_example_worker``: run the worker."""

from fastpath_example_worker.worker import main

raise SystemExit(main())

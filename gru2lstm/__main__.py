from gru2lstm.cli import main

raise SystemExit(main())

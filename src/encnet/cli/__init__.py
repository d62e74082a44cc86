"""The applications: every console script and ``python -m`` entry point. The Hydra apps share one shape,
compose → instantiate → ``run(cfg)`` → result, and one runner (:mod:`encnet.cli.runner`)."""

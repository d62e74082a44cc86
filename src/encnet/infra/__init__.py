"""Run infrastructure, below everything else (it imports no model, task or dataset): where the configs live and
their resolvers, console noise, output files written atomically, run reports, checkpoint files, loggers and the
distributed-launch check."""

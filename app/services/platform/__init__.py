"""What every group stands on: service errors, files with their transaction's fate, counting
under locks, the sweep of unreferenced files."""

"""What every group stands on, importing none of them: service errors, files with their
transaction's fate, counting under locks."""

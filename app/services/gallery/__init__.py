"""The mugshot gallery: enrolling booking photos (here or on a cluster), the index's life cycle,
the 1:N search over it, sealed records."""
